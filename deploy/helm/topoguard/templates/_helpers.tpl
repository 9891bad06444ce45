{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "topoguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object name: the release name, unless it already contains the chart name. */}}
{{- define "topoguard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "topoguard.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "topoguard.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "topoguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "topoguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "topoguard.labels" -}}
{{ include "topoguard.selectorLabels" . }}
app.kubernetes.io/component: nri-plugin
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "topoguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "topoguard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The configuration file: the documented defaults (files/topoguard.yaml), .Values.config
over them, and the settings other values own over both, so that the metrics port, the
eviction switch and the RBAC rule can never disagree.
*/}}
{{- define "topoguard.config" -}}
{{- $base := .Files.Get "files/topoguard.yaml" | fromYaml -}}
{{- if hasKey $base "Error" -}}
{{- fail (printf "files/topoguard.yaml: %s" (get $base "Error")) -}}
{{- end -}}
{{- $cfg := mergeOverwrite $base (deepCopy (default dict .Values.config)) -}}
{{- $owned := dict "metrics" (dict "address" (printf ":%d" (int .Values.metrics.port))) -}}
{{- if .Values.evictions.enabled -}}
{{- $_ := set $owned "eviction" (dict "enabled" true) -}}
{{- $_ := set $owned "kubernetes" (dict "enabled" true) -}}
{{- $_ := set $owned "live" (dict "enabled" true) -}}
{{- else -}}
{{- $_ := set $owned "eviction" (dict "enabled" false) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $cfg $owned) -}}
{{- end -}}

{{/*
Capabilities to add after dropping ALL: BPF and PERFMON only when the rendered config runs
the live controller (the only user of BPF), plus capabilities.extra for old kernels.
*/}}
{{- define "topoguard.capabilities" -}}
{{- $cfg := include "topoguard.config" . | fromYaml -}}
{{- $caps := list -}}
{{- if and .Values.capabilities.auto (dig "live" "enabled" false $cfg) -}}
{{- $caps = list "BPF" "PERFMON" -}}
{{- end -}}
{{- range .Values.capabilities.extra -}}
{{- if not (has . $caps) -}}{{- $caps = append $caps . -}}{{- end -}}
{{- end -}}
{{- toJson $caps -}}
{{- end -}}

{{/* allowPrivilegeEscalation=false is rejected by the API server together with SYS_ADMIN. */}}
{{- define "topoguard.allowPrivilegeEscalation" -}}
{{- if has "SYS_ADMIN" (include "topoguard.capabilities" . | fromJsonArray) -}}true{{- else -}}false{{- end -}}
{{- end -}}
