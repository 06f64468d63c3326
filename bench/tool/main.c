/* akavs-bench: benchmarks, load generator, echo baseline and capacity planner. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

struct bench_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* One line per subcommand; declarations are in bench.h. */
static const struct bench_cmd cmds[] = {
    {"crypto", akv_bench_crypto, "Milenage kernels vs libosmocore and the AES roofline (one core)"},
    {"echo", akv_bench_echo, "io_uring echo server: the physical baseline for `load`"},
    {"load", akv_bench_load, "io_uring load generator: AVS/1, Diameter Cx, or the echo baseline"},
    {"plan", akv_bench_plan, "capacity plan: subscribers x interval x storm -> cores, boxes"},
    {"engine", akv_bench_engine, "AKA engine on one core: challenges/verifies/s, fsyncs/s, RAM/disk per sub"},
    {"import", akv_bench_import, "CSV import into a fresh LMDB store: subscribers/s vs add_batch"},
    {"dia", akv_bench_dia, "Diameter Cx codec per MAR/MAA on one thread vs memcpy of the bytes"},
    {"avs1", akv_bench_avs1, "AVS/1 front-end codec per CHALLENGE on one thread vs memcpy of the bytes"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: akavs-bench <command> [options]   (akavs-bench <command> --help)\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
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
	fprintf(stderr, "akavs-bench: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
