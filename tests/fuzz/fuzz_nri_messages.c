/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: every NRI request the runtime can send, through the real daemon.
 *
 * Once per process a daemon is built as `topoguard run` builds it in pre-launched
 * mode (its end of a socketpair in $NRI_PLUGIN_SOCKET, the 144-CPU sysfs fixture,
 * no status socket, no metrics, no live usage, debug logging to /dev/null) and runs
 * on its own thread. This thread plays the runtime: it answers RegisterPlugin, sends
 * Configure and an empty Synchronize, then for each input sends one request:
 *
 *   byte 0   the method (index into `methods`, modulo its size)
 *   bytes 1… the protobuf payload, as the runtime would have packed it
 *
 * so the fuzzer reaches the stub's unpack and dispatch, the daemon's handlers, the
 * model, the QoS and annotation extraction and the policy with hostile pods and
 * containers. State accumulates over inputs, as on a node, until an empty Synchronize
 * every RESYNC_EVERY inputs makes the daemon start over. Invariants: the daemon
 * answers every request (an error status is fine) within 5 s and never closes the
 * connection; a hang or a dropped connection aborts (a finding).
 *
 * Seeds: tests/fuzz/corpus/fuzz_nri_messages/, one file per Plugin-service request
 * recorded in tests/fixtures/nri-vectors (method byte + payload_hex); the pod/container
 * of the recorded StateChange events are also offered to the dedicated RPCs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugin/daemon/daemon.h"
#include "plugin/obs/log.h"
#include "plugin/nri/trunk.h"
#include "proto/nri.pb-c.h"

#define PLUGIN_SERVICE	"nri.pkg.api.v1alpha1.Plugin"
#define RUNTIME_SERVICE "nri.pkg.api.v1alpha1.Runtime"
#define FIXTURE		"tests/fixtures/sysfs/skx-4s-smt"
#define CALL_TIMEOUT_NS (5ll * 1000000000ll)
#define RESYNC_EVERY	2000 /* inputs between empty Synchronize calls (bounds the state) */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {
	"CreateContainer",     "UpdateContainer",
	"StopContainer",       "Synchronize",
	"StateChange",	       "RunPodSandbox",
	"UpdatePodSandbox",    "PostUpdatePodSandbox",
	"StopPodSandbox",      "RemovePodSandbox",
	"PostCreateContainer", "StartContainer",
	"PostStartContainer",  "PostUpdateContainer",
	"RemoveContainer",     "ValidateContainerAdjustment",
};

static struct {
	struct daemon *d;
	struct nri_trunk *t;
	pthread_t thread;
	bool registered;
	unsigned long inputs;
} fz;

static int runtime_serve(struct nri_trunk *t, const struct nri_request *req, void *ud)
{
	(void)ud;
	if (strcmp(req->service, RUNTIME_SERVICE))
		return nri_trunk_reply_error(t, req->stream_id, TTRPC_UNIMPLEMENTED, "service");
	if (!strcmp(req->method, "RegisterPlugin"))
		fz.registered = true;
	/* RegisterPlugin and UpdateContainers: an empty success, as containerd answers */
	return nri_trunk_reply(t, req->stream_id, NULL, 0);
}

static void *daemon_thread(void *ud)
{
	daemon_run(ud);
	return NULL;
}

static int call(const char *method, const uint8_t *p, size_t len)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	char *msg = NULL;
	int r = nri_trunk_call_sync(fz.t, PLUGIN_SERVICE, method, p, len, CALL_TIMEOUT_NS, &out,
				    &out_len, &msg);

	free(out);
	free(msg);
	return r;
}

static int packed_call(const char *method, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len + 1);
	int r;

	if (!buf)
		return -ENOMEM;
	protobuf_c_message_pack(m, buf);
	r = call(method, buf, len);
	free(buf);
	return r;
}

static int write_config(char *path, size_t size)
{
	static const char text[] = "log:\n  level: debug\nlive:\n  enabled: false\n";
	int fd;

	snprintf(path, size, "/tmp/fuzz_nri_messages.%d.yaml", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1)) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int start_daemon(int fd)
{
	char fdnum[16], config[128], sysfs[512];
	const char *src = getenv("TOPOGUARD_SRC") ? getenv("TOPOGUARD_SRC") : ".";
	struct daemon_options o = {.config_path = config,
				   .sysfs_root = sysfs,
				   .status_socket = "",
				   .metrics_address = "none"};
	int r = write_config(config, sizeof(config));

	if (r < 0)
		return r;
	snprintf(sysfs, sizeof(sysfs), "%s/%s", src, FIXTURE);
	snprintf(fdnum, sizeof(fdnum), "%d", fd);
	setenv("NRI_PLUGIN_SOCKET", fdnum, 1);
	setenv("NRI_PLUGIN_NAME", "topoguard", 1);
	setenv("NRI_PLUGIN_IDX", "90", 1);
	log_open_file("/dev/null");
	r = daemon_new(&o, &fz.d);
	unlink(config);
	if (r < 0)
		return r;
	return -pthread_create(&fz.thread, NULL, daemon_thread, fz.d);
}

static int handshake(void)
{
	Nri__Pkg__Api__V1alpha1__ConfigureRequest cfg =
		NRI__PKG__API__V1ALPHA1__CONFIGURE_REQUEST__INIT;
	Nri__Pkg__Api__V1alpha1__SynchronizeRequest sync =
		NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_REQUEST__INIT;
	int r = 0;

	for (int i = 0; i < 500 && !fz.registered && r >= 0; i++)
		r = nri_trunk_run_once(fz.t, 10);
	if (!fz.registered)
		return -ETIMEDOUT;
	cfg.runtime_name = (char *)"fuzz";
	cfg.runtime_version = (char *)"v0";
	cfg.registration_timeout = 5000;
	cfg.request_timeout = 2000;
	r = packed_call("Configure", &cfg.base);
	return r < 0 ? r : packed_call("Synchronize", &sync.base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int sv[2], r;

	(void)argc, (void)argv;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	r = start_daemon(sv[1]);
	if (r == 0)
		r = nri_trunk_new(sv[0], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, runtime_serve, NULL,
				  &fz.t);
	if (r == 0)
		r = handshake();
	if (r != 0) {
		fprintf(stderr,
			"fuzz_nri_messages: setup failed: %s (run from the repository "
			"root or set TOPOGUARD_SRC)\n",
			strerror(-r));
		abort();
	}
	return 0;
}

/* An empty Synchronize: the daemon forgets every pod and container it was told about. */
static void resync_empty(void)
{
	Nri__Pkg__Api__V1alpha1__SynchronizeRequest sync =
		NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_REQUEST__INIT;

	if (packed_call("Synchronize", &sync.base) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int r;

	if (size < 1)
		return 0;
	if (++fz.inputs % RESYNC_EVERY == 0)
		resync_empty();
	r = call(methods[data[0] % (sizeof(methods) / sizeof(methods[0]))], data + 1, size - 1);
	/* >= 0: answered (a ttRPC status > 0 is an answer); < 0: hang or connection lost */
	if (r < 0) {
		fprintf(stderr, "fuzz_nri_messages: %s: %s\n",
			methods[data[0] % (sizeof(methods) / sizeof(methods[0]))], strerror(-r));
		abort();
	}
	return 0;
}
