/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER: replaced by the owner of this command. */
#include <stdio.h>

#include "plugin/cmd.h"

int cmd_validate_config(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "topoguard: validate_config is not available in this build\n");
	return 1;
}
