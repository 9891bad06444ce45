/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER: replaced by the owner of this command. */
#include <stdio.h>

#include "plugin/cmd.h"

int cmd_topology(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "topoguard: topology is not available in this build\n");
	return 1;
}
