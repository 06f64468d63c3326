/* `akavs milenage`: placeholder until the command lands (same session). */
#include <stdio.h>

#include "cmds.h"

int
akv_cmd_milenage(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "akavs milenage: not built yet\n");
	return 1;
}
