/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NRI event handlers (handlers.c), installed on the stub by daemon.c. They use
 * state.h and live.h of the room; nothing of the room but daemon.c uses them.
 */
#pragma once

#include "plugin/nri/stub.h"

extern const struct nri_stub_handlers daemon_handlers;
