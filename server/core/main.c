/* akavs: AKA authentication-vector server and its operator tools. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct cmd cmds[] = {
	{"milenage", akv_cmd_milenage, "compute Milenage outputs (one set, or --batch from stdin)"},
	{"serve", akv_cmd_serve, "run the AKA vector server (AVS/1; Diameter Cx when configured)"},
	{"client", akv_cmd_client, "talk AVS/1 to a running server (ping, stats, challenge, verify, ...)"},
	{"sub", akv_cmd_sub, "provision subscribers: add, set, del, show, list, import, export"},
	{"db", akv_cmd_db, "subscriber store: init, stats, check"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: akavs <command> [options]   (akavs <command> --help)\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
}

int
main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "akavs: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
