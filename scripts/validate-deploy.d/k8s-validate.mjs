// Validate Kubernetes manifests offline, as close to `kubectl apply --validate=strict`
// against a real API server as we can get without one:
//   1. schema: the JSON-schema validators that the npm package kubernetes-models ships,
//      generated from the Kubernetes OpenAPI spec (types, enums, required fields, formats);
//   2. strict fields: every key must exist in the OpenAPI type (the package's .d.ts
//      files carry the property lists; the schema validators allow unknown keys, the
//      API server with strict field validation does not);
//   3. a few API-server validation rules that are not in the schema (selector vs labels,
//      named probe ports, volume names, label/annotation keys as qualified names,
//      allowPrivilegeEscalation with SYS_ADMIN, capability names), and cross-object
//      references (ServiceAccount, ConfigMap, ClusterRole) within the set;
//   4. topoguard's own deployment policy (docs/deploy.md): drop ALL capabilities and add
//      only justified ones, not privileged, no hostPID, host paths read only except the
//      NRI and status socket directories.
//
// usage: node k8s-validate.mjs NODE_MODULES_DIR FILE...   (multi-document YAML files)
// Prints one line per object, errors as "file: Kind/name: message"; exit 1 on any error.
import { readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const [nodeModules, ...files] = process.argv.slice(2);
if (!nodeModules || files.length === 0) {
	console.error("usage: k8s-validate.mjs NODE_MODULES_DIR FILE...");
	process.exit(2);
}
const require = createRequire(join(nodeModules, "noop.js"));
const YAML = require("yaml");
const KM = join(nodeModules, "kubernetes-models");

// ---- strict field check from the .d.ts interface declarations ------------------------
const ifaceCache = new Map();

function resolveImport(fromFile, spec) {
	const base = spec.startsWith(".") ? join(dirname(fromFile), spec) : join(nodeModules, spec);
	return base.replace(/\.js$/, "") + ".d.ts";
}

// Parse the first `export interface` of a .d.ts file: { props: Map(name -> type text) }.
function parseIface(file) {
	if (ifaceCache.has(file)) return ifaceCache.get(file);
	let result = null;
	if (existsSync(file)) {
		const text = readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
		const imports = new Map();
		for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)"/g))
			imports.set(m[1], resolveImport(file, m[2]));
		const body = text.match(/export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/);
		if (body) {
			const props = new Map();
			let name = null;
			let type = "";
			for (const line of body[1].split("\n")) {
				const m = name === null && line.match(/^ {4}"([^"]+)"\??: (.*)$/);
				if (m) [name, type] = [m[1], m[2]];
				else if (name !== null) type += " " + line.trim();
				else continue;
				// A map type spans lines until its braces balance.
				if (name !== null && count(type, "{") === count(type, "}")) {
					props.set(name, type.replace(/\s+/g, " ").replace(/;$/, "").trim());
					name = null;
				}
			}
			result = { props, imports, file };
		}
	}
	ifaceCache.set(file, result);
	return result;
}

function count(s, ch) {
	return s.split(ch).length - 1;
}

function checkType(value, type, iface, path, errs) {
	type = type.trim();
	let m;
	if ((m = type.match(/^Array<(.+)>$/))) {
		if (Array.isArray(value)) value.forEach((v, i) => checkType(v, m[1], iface, `${path}[${i}]`, errs));
		return;
	}
	if ((m = type.match(/^\{ \[key: string\]: (.+); \}$/))) {
		if (value && typeof value === "object")
			for (const [k, v] of Object.entries(value)) checkType(v, m[1], iface, `${path}.${k}`, errs);
		return;
	}
	if (/^I\w+$/.test(type) && iface.imports.has(type)) {
		const sub = parseIface(iface.imports.get(type));
		if (sub) checkObject(value, sub, path, errs);
	}
}

function checkObject(obj, iface, path, errs) {
	if (!obj || typeof obj !== "object" || Array.isArray(obj)) return;
	for (const [k, v] of Object.entries(obj)) {
		if (!iface.props.has(k)) {
			errs.push(`${path}.${k}: unknown field "${k}" (strict field validation)`);
			continue;
		}
		checkType(v, iface.props.get(k), iface, `${path}.${k}`, errs);
	}
}

// ---- API-server rules the schema does not carry ---------------------------------------
const CAPS = new Set(
	("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP " +
		"LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER " +
		"SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE " +
		"SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP " +
		"MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF " +
		"CHECKPOINT_RESTORE").split(" "));
const DNS1123_SUB = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function capName(c) {
	return c.replace(/^CAP_/, "");
}

function checkContainer(c, podVolumes, errs, where) {
	const ports = new Set();
	for (const p of c.ports ?? []) {
		if (p.name && (p.name.length > 15 || !/^[a-z0-9-]*[a-z][a-z0-9-]*$/.test(p.name)))
			errs.push(`${where}.ports: name "${p.name}" must be an IANA_SVC_NAME (<= 15 chars)`);
		if (p.name) ports.add(p.name);
	}
	for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
		const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
		if (typeof port === "string" && !ports.has(port))
			errs.push(`${where}.${probe}: port "${port}" is not a named container port`);
	}
	for (const vm of c.volumeMounts ?? [])
		if (!podVolumes.has(vm.name)) errs.push(`${where}.volumeMounts: no volume named "${vm.name}"`);
	const sc = c.securityContext ?? {};
	const add = (sc.capabilities?.add ?? []).map(capName);
	for (const cap of [...add, ...(sc.capabilities?.drop ?? []).map(capName)])
		if (cap !== "ALL" && !CAPS.has(cap)) errs.push(`${where}: unknown capability "${cap}"`);
	// pkg/apis/core/validation: ValidateSecurityContext
	if (sc.allowPrivilegeEscalation === false && (sc.privileged || add.includes("SYS_ADMIN")))
		errs.push(`${where}: allowPrivilegeEscalation false is rejected with privileged or CAP_SYS_ADMIN`);
}

function checkPodSpec(spec, errs, where, index) {
	const vols = new Set();
	for (const v of spec.volumes ?? []) {
		if (vols.has(v.name)) errs.push(`${where}.volumes: duplicate name "${v.name}"`);
		vols.add(v.name);
		if (v.configMap && index.size && !index.has(`ConfigMap/${v.configMap.name}`))
			errs.push(`${where}.volumes: ConfigMap "${v.configMap.name}" is not in this set`);
	}
	const sa = spec.serviceAccountName;
	if (sa && index.size && !index.has(`ServiceAccount/${sa}`))
		errs.push(`${where}: ServiceAccount "${sa}" is not in this set`);
	for (const [i, c] of (spec.containers ?? []).entries())
		checkContainer(c, vols, errs, `${where}.containers[${i}]`);
}

// topoguard's deployment policy: least privilege, stated in docs/deploy.md.
const ALLOWED_CAPS = new Set(["BPF", "PERFMON", "SYS_RESOURCE", "SYS_ADMIN"]);
// /sys/fs/cgroup: direct actuation writes containers' cpuset and CFS files (docs/deploy.md)
const RW_HOST_MOUNTS = new Set(["/var/run/nri", "/run/topoguard", "/sys/fs/cgroup"]);

function checkPolicy(spec, errs, where) {
	for (const c of spec.containers ?? []) {
		const sc = c.securityContext ?? {};
		if (sc.privileged) errs.push(`${where}: policy: privileged must be false`);
		if (!(sc.capabilities?.drop ?? []).includes("ALL"))
			errs.push(`${where}: policy: capabilities.drop must contain ALL`);
		for (const cap of (sc.capabilities?.add ?? []).map(capName))
			if (!ALLOWED_CAPS.has(cap)) errs.push(`${where}: policy: capability ${cap} is not justified`);
	}
	if (spec.hostPID) errs.push(`${where}: policy: hostPID must stay false (see docs/deploy.md)`);
	// Only the NRI socket and the status socket directories are written on the host.
	const hostVols = new Set((spec.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name));
	for (const c of spec.containers ?? [])
		for (const m of c.volumeMounts ?? [])
			if (hostVols.has(m.name) && !m.readOnly && !RW_HOST_MOUNTS.has(m.mountPath))
				errs.push(`${where}: policy: hostPath mount ${m.mountPath} must be readOnly`);
}

// apimachinery IsQualifiedName: [prefix/]name, one slash at most, name <= 63 chars.
const QNAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

function checkKeys(md, where, errs) {
	for (const what of ["labels", "annotations"])
		for (const k of Object.keys(md?.[what] ?? {}))
			if (!QNAME.test(k) || k.split("/")[0].length > 253)
				errs.push(`${where}.${what}: "${k}" is not a qualified name`);
}

function semantic(doc, errs, index) {
	const md = doc.metadata ?? {};
	checkKeys(md, "metadata", errs);
	checkKeys(doc.spec?.template?.metadata, "spec.template.metadata", errs);
	if (!md.name || !DNS1123_SUB.test(md.name) || md.name.length > 253)
		errs.push(`metadata.name "${md.name}" is not a DNS-1123 subdomain`);
	if (doc.kind === "DaemonSet" || doc.kind === "Deployment") {
		const sel = doc.spec?.selector?.matchLabels ?? {};
		const labels = doc.spec?.template?.metadata?.labels ?? {};
		for (const [k, v] of Object.entries(sel))
			if (labels[k] !== v) errs.push(`spec.selector: label ${k}=${v} not in template labels`);
		const spec = doc.spec?.template?.spec ?? {};
		checkPodSpec(spec, errs, "spec.template.spec", index);
		checkPolicy(spec, errs, "spec.template.spec");
	}
	if (doc.kind === "Pod") checkPodSpec(doc.spec ?? {}, errs, "spec", new Set());
	if (doc.kind === "ClusterRoleBinding" || doc.kind === "RoleBinding") {
		const ref = doc.roleRef ?? {};
		if (index.size && !index.has(`${ref.kind}/${ref.name}`))
			errs.push(`roleRef: ${ref.kind} "${ref.name}" is not in this set`);
		for (const s of doc.subjects ?? [])
			if (s.kind === "ServiceAccount" && index.size && !index.has(`ServiceAccount/${s.name}`))
				errs.push(`subjects: ServiceAccount "${s.name}" is not in this set`);
	}
	if (md.namespace !== undefined && !DNS1123_LABEL.test(md.namespace))
		errs.push(`metadata.namespace "${md.namespace}" is not a DNS-1123 label`);
}

// ---- driver ------------------------------------------------------------------------------
function modelPath(doc) {
	// kubernetes-models lays out modules as <group>/<version>/<Kind> ("v1/ConfigMap").
	return join(KM, String(doc.apiVersion ?? ""), String(doc.kind ?? ""));
}

async function validateDoc(doc, errs, index) {
	const base = modelPath(doc);
	if (!existsSync(base + ".js")) {
		errs.push(`no schema for apiVersion=${doc.apiVersion} kind=${doc.kind}`);
		return;
	}
	const mod = await import(pathToFileURL(base + ".js").href);
	const Model = mod[doc.kind];
	try {
		new Model(doc).validate();
	} catch (e) {
		errs.push(`schema: ${String(e.message).split("\n").join("; ")}`);
	}
	const iface = parseIface(base + ".d.ts");
	if (!iface) errs.push(`no type declaration for ${doc.kind}`);
	else checkObject(doc, iface, doc.kind, errs);
	semantic(doc, errs, index);
}

const docs = [];
let failed = 0;
for (const f of files) {
	if (!existsSync(f)) {
		console.log(`${f}: no such file`);
		failed++;
		continue;
	}
	for (const d of YAML.parseAllDocuments(readFileSync(f, "utf8"))) {
		if (d.errors.length) {
			console.log(`${f}: YAML: ${d.errors[0].message}`);
			failed++;
			continue;
		}
		const doc = d.toJS();
		if (doc) docs.push({ f, doc });
	}
}
const index = new Set(docs.map(({ doc }) => `${doc.kind}/${doc.metadata?.name}`));
for (const { f, doc } of docs) {
	const errs = [];
	await validateDoc(doc, errs, index);
	const id = `${doc.kind}/${doc.metadata?.name}`;
	if (errs.length) {
		failed++;
		for (const e of errs) console.log(`${f}: ${id}: ${e}`);
	} else {
		console.log(`ok   ${f}: ${doc.apiVersion} ${id}`);
	}
}
if (docs.length === 0) {
	console.log("no Kubernetes objects found");
	failed++;
}
process.exit(failed ? 1 : 0);
