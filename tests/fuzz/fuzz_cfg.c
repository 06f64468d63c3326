/*
 * fuzz_cfg.c - libFuzzer target for the configuration readers
 * (server/core/cfg.h): the INI file of `akavs serve --config` and the value
 * parsers its keys and flags share (CPU lists, HOST:PORT, peer specs,
 * allow-list networks).
 *
 * The input is a config file, read through a memfd by akv_cfg_load over the
 * defaults, then checked with akv_cfg_check. It checks:
 *  - a refusal has a terminated "FILE:LINE: text" message naming the file;
 *  - an accepted file leaves every string of the config terminated inside
 *    its array and the counts inside their arrays;
 *  - each line, as a flag value, never makes a value parser read or write
 *    past its bounds, and what they accept obeys cfg.h (CPU list count in
 *    1..max, network prefix within the family's width with the bits past it
 *    zero, a non-empty host before the port; port 0 = any free port).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* aborts with the line of the broken rule */
#define check(cond) check_at((cond), __LINE__)

static void
check_at(int cond, int line)
{
	if (!cond) {
		fprintf(stderr, "fuzz_cfg: rule at line %d broken\n", line);
		abort();
	}
}

static int
terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

static void
check_loaded(const struct akv_cfg *cfg)
{
	check(terminated(cfg->db_dir, sizeof(cfg->db_dir)));
	check(terminated(cfg->listen, sizeof(cfg->listen)));
	check(terminated(cfg->dia.listen, sizeof(cfg->dia.listen)));
	check(terminated(cfg->dia.origin_host, sizeof(cfg->dia.origin_host)));
	check(terminated(cfg->dia.origin_realm, sizeof(cfg->dia.origin_realm)));
	check(terminated(cfg->dia.user_data_template, sizeof(cfg->dia.user_data_template)));
	check(cfg->ncpus <= AKV_CFG_CPUS_MAX);
	check(cfg->nallow <= AKV_CFG_ALLOW_MAX);
	check(cfg->dia.npeers <= AKV_CFG_PEERS_MAX);
	for (unsigned i = 0; i < cfg->dia.npeers; i++) {
		check(terminated(cfg->dia.peers[i].host, sizeof(cfg->dia.peers[i].host)));
		check(terminated(cfg->dia.peers[i].addr, sizeof(cfg->dia.peers[i].addr)));
	}
}

static void
check_net(const struct akv_cfg_net *n)
{
	unsigned width = n->family == AF_INET ? 32 : 128;

	check(n->family == AF_INET || n->family == AF_INET6);
	check(n->prefix <= width);
	for (unsigned bit = n->prefix; bit < width; bit++)
		check(!(n->addr[bit / 8] & (0x80u >> (bit % 8))));
}

/* One line of the input as a flag value: each parser gets its own
 * exact-size copy so ASan sees a read past the NUL. */
static void
values(const char *line, size_t len)
{
	char *s = malloc(len + 1);
	uint16_t cpus[AKV_CFG_CPUS_MAX];
	char host[64];
	uint16_t port;
	struct akv_cfg_peer peer;
	struct akv_cfg_net net;
	int r;

	if (!s)
		abort();
	memcpy(s, line, len);
	s[len] = 0;
	r = akv_cfg_parse_cpus(s, cpus, AKV_CFG_CPUS_MAX);
	check(r == AKV_EINVAL || (r > 0 && r <= AKV_CFG_CPUS_MAX));
	if (akv_cfg_split_addr(s, host, sizeof(host), &port) == 0)
		check(terminated(host, sizeof(host)) && strlen(host) > 0);
	if (akv_cfg_parse_peer(s, &peer) == 0)
		check(terminated(peer.host, sizeof(peer.host)) &&
		      terminated(peer.addr, sizeof(peer.addr)));
	if (akv_cfg_parse_net(s, &net) == 0)
		check_net(&net);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct akv_cfg cfg;
	char path[64], err[256];
	int fd, r;

	if (size > 65536)
		return 0;
	fd = memfd_create("fuzz_cfg", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	akv_cfg_default(&cfg);
	memset(err, 0x55, sizeof(err));
	r = akv_cfg_load(&cfg, path, err, sizeof(err));
	if (r == 0) {
		check_loaded(&cfg);
		memset(err, 0x55, sizeof(err));
		if (akv_cfg_check(&cfg, err, sizeof(err)))
			check(terminated(err, sizeof(err)) && err[0]);
	} else {
		check(r == AKV_EINVAL);
		check(terminated(err, sizeof(err)) && strstr(err, path) == err);
	}
	close(fd);
	for (size_t i = 0; i < size;) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - (data + i)) : size - i;

		values((const char *)data + i, len);
		i += len + 1;
	}
	return 0;
}
