// gbench_main.cc - akavs-microbench: registers the plain-C kernels of
// bench_mil.c with Google Benchmark. The only C++ file of the project; it
// contains no benchmark logic, only registration and reporting: items/s is
// vectors/s (or RANDs/s, schedules/s), labelled with the backend, its lane
// count and the CPU flags. The process is pinned to one core.
#include <cstdio>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_mil.h"

namespace {

struct kernel {
	const char *name;
	void (*run)(struct bench_ctx *, uint64_t);
	bool per_impl;		// run once per backend and key mode
};

const kernel kernels[] = {
	{"mil_vector", bench_mil_vector, true},
	{"mil_auts", bench_mil_auts, true},
	{"aes_expand", bench_aes_expand, false},
	{"rand_bulk", bench_rand_bulk, false},
};

constexpr unsigned kSubs = 4096;	// distinct subscribers, as in `akavs-bench crypto`
constexpr unsigned kBatch = 256;

void
run_kernel(benchmark::State &state, const kernel *k, const char *impl, int precomputed)
{
	const char *why = nullptr;
	struct bench_ctx *c = bench_ctx_new(impl, precomputed, kSubs, kBatch, &why);

	if (!c) {
		state.SkipWithError(why ? why : "unavailable");
		return;
	}
	for (auto _ : state)
		k->run(c, 1);
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * bench_ctx_batch(c));
	// backend kernels name the backend; aes_expand and rand_bulk use none
	if (k->per_impl)
		state.SetLabel(std::string(bench_ctx_impl(c)) + " x" +
			       std::to_string(bench_ctx_lanes(c)) + " [" + bench_cpu_flags() + "]");
	else
		state.SetLabel(std::string("[") + bench_cpu_flags() + "]");
	bench_ctx_free(c);
}

}  // namespace

int
main(int argc, char **argv)
{
	static const char *const impls[] = {"ref", "aesni", "vaes"};
	int cpu = bench_pin();

	benchmark::Initialize(&argc, argv);
	benchmark::AddCustomContext("pinned_cpu", std::to_string(cpu));
	benchmark::AddCustomContext("cpu_flags", bench_cpu_flags());
	for (const kernel &k : kernels) {
		if (!k.per_impl) {
			benchmark::RegisterBenchmark(k.name, run_kernel, &k, "ref", 0);
			continue;
		}
		for (const char *impl : impls)
			for (int pre = 0; pre < 2; pre++) {
				// ref ignores schedules: one row for it
				if (pre && std::string(impl) == "ref")
					continue;
				std::string name = std::string(k.name) + "/" + impl +
						   (pre ? "/precomputed" : "/expanded");
				benchmark::RegisterBenchmark(name.c_str(), run_kernel, &k, impl, pre);
			}
	}
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
