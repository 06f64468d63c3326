/*
 * cfg.h - configuration of `akavs serve`: an INI file (libinih) and command
 * line flags that override it. Built once at startup, then passed around as
 * `const struct akv_cfg *` (no option globals, STYLE 2.7).
 *
 * File layout (docs/akavs.ini is the annotated example):
 *   [server]   db, listen, workers, cpus, max-conns, max-inflight,
 *              max-inflight-conn, batch, rx-buffers, log-level,
 *              master-key-file (path only: the key itself is never in the config)
 *   [engine]   ind-bits, max-vectors, challenge-ttl-ms, fail-limit,
 *              seq-reserve, count-stale-as-fail
 *   [diameter] listen, origin-host, origin-realm, max-vectors,
 *              peer = ORIGIN-HOST [ADDR] [ind=N]   (repeatable),
 *              tls-listen (Diameter over TLS from the start, RFC 6733 §13)
 *   [tls]      cert, key, ca, handshake-timeout-ms (docs/TLS.md): with cert
 *              and key the AVS/1 listener speaks TLS; with ca, client
 *              certificates signed by it are required
 *
 * Errors are reported as "FILE:LINE: text" or "--flag: text" in the caller's
 * buffer, never with secrets (the config holds none).
 */
#ifndef AKV_SERVER_CORE_CFG_H
#define AKV_SERVER_CORE_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "aka/eng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_CFG_PATH_MAX 1024
#define AKV_CFG_ADDR_MAX 128 /* "host:port" / "[v6]:port" */
#define AKV_CFG_NAME_MAX 256 /* Diameter identities (RFC 6733 DiameterIdentity) */
#define AKV_CFG_CPUS_MAX 256
#define AKV_CFG_WORKERS_MAX 64
#define AKV_CFG_PEERS_MAX 64
#define AKV_CFG_ALLOW_MAX 64 /* networks in the AVS/1 allow-list */
#define AKV_CFG_ERR_MAX 256 /* size of an error-message buffer */

#define AKV_CFG_DEFAULT_LISTEN "127.0.0.1:7430"
#define AKV_CFG_DEFAULT_DIA_LISTEN "127.0.0.1:3868"
#define AKV_CFG_DEFAULT_DB "./akavs-db" /* = AKV_STORE_DEFAULT_DIR (store.h) */

enum akv_cfg_log {
	AKV_CFG_LOG_ERR = 0,
	AKV_CFG_LOG_WARN = 1,
	AKV_CFG_LOG_INFO = 2,
	AKV_CFG_LOG_DEBUG = 3,
};

/* ==== Types ==== */

/* One allowed Diameter peer (issue 5): matched by Origin-Host and/or source
 * address; "*" or empty means "any". ind: IND slot for vectors issued to it
 * (TS 33.102 C.3.4), -1 for the subscriber's cyclic choice. */
struct akv_cfg_peer {
	char host[AKV_CFG_NAME_MAX];
	char addr[AKV_CFG_ADDR_MAX];
	int ind;
};

/* One network of the AVS/1 allow-list: the first prefix bits of addr (an
 * IPv4 address in addr[0..3] when family is AF_INET). */
struct akv_cfg_net {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix; /* 0..32 or 0..128 */
	uint8_t addr[16];
};

struct akv_cfg_dia {
	char listen[AKV_CFG_ADDR_MAX]; /* "" = Diameter disabled */
	char origin_host[AKV_CFG_NAME_MAX];
	char origin_realm[AKV_CFG_NAME_MAX];
	unsigned max_vectors; /* cap on SIP-Number-Auth-Items, <= AKV_VEC_MAX */
	unsigned watchdog_ms; /* Tw: DWR after this much peer silence, 0 = 30000 */
	unsigned auth_pending_max; /* MAR S-CSCF names kept for UARs (cx_pending.h), 0 = off */
	char user_data_template[AKV_CFG_PATH_MAX]; /* SAA User-Data template file, "" = built-in */
	unsigned npeers;			   /* 0: any peer allowed */
	struct akv_cfg_peer peers[AKV_CFG_PEERS_MAX];
	char tls_listen[AKV_CFG_ADDR_MAX]; /* Diameter over TLS from the start, "" = off */
};

/* [tls]: paths only; the key is read by OpenSSL at startup (net/tls.h). */
struct akv_cfg_tls {
	char cert[AKV_CFG_PATH_MAX]; /* PEM certificate (chain); "" = TLS off */
	char key[AKV_CFG_PATH_MAX];  /* PEM private key */
	char ca[AKV_CFG_PATH_MAX];   /* PEM CA bundle: client certificates required */
	unsigned handshake_ms;	     /* a handshake not done by then is closed */
};

struct akv_cfg {
	char config_path[AKV_CFG_PATH_MAX]; /* "" when no file was read */
	char db_dir[AKV_CFG_PATH_MAX];
	char listen[AKV_CFG_ADDR_MAX];	 /* AVS/1 listener, "" = disabled */
	unsigned workers;		 /* worker threads = shards */
	unsigned ncpus;			 /* 0: no pinning list, pin worker i to CPU i % cores */
	uint16_t cpus[AKV_CFG_CPUS_MAX]; /* worker i runs on cpus[i % ncpus] */
	unsigned max_conns;		 /* accepted conns beyond this are refused */
	unsigned max_inflight;		 /* requests at workers, all conns together */
	unsigned max_inflight_conn;	 /* requests at workers, per conn */
	unsigned batch;			 /* most requests a worker takes per run */
	unsigned rx_buffers;		 /* provided receive buffers (power of two) */
	int log_level;			 /* enum akv_cfg_log */
	unsigned nallow;		 /* 0: any AVS/1 client may connect */
	struct akv_cfg_net allow[AKV_CFG_ALLOW_MAX];
	struct akv_eng_cfg eng;
	struct akv_cfg_dia dia;
	char master_key_file[AKV_CFG_PATH_MAX]; /* sealed store's master key, "" = none */
	struct akv_cfg_tls tls;
};

/* ==== Lifecycle ==== */

/* Fills every field with its default: listen 127.0.0.1:7430, workers = online
 * CPUs, engine defaults from akv_eng_cfg_default(), Diameter disabled. */
void akv_cfg_default(struct akv_cfg *cfg);

/* Reads an INI file over *cfg (keys not present keep their value). Returns 0,
 * -errno when the file cannot be read, or AKV_EINVAL with "FILE:LINE: text"
 * in err (errlen bytes, always terminated). */
int akv_cfg_load(struct akv_cfg *cfg, const char *path, char *err, size_t errlen);

/* The whole startup sequence of `akavs serve`: defaults, then the file named
 * by --config (if any), then every flag in argv[1..argc-1] overriding it,
 * then akv_cfg_check(). Flags: --config FILE --db DIR --listen HOST:PORT
 * --workers N --cpus LIST --max-conns N --max-inflight N --max-inflight-conn N
 * --batch N --rx-buffers N --log-level LEVEL --ind-bits N --max-vectors N
 * --challenge-ttl-ms N --fail-limit N --seq-reserve N --diameter-listen
 * HOST:PORT --origin-host NAME --origin-realm REALM --peer SPEC
 * --master-key-file FILE --tls-cert FILE --tls-key FILE --tls-ca FILE
 * --tls-handshake-timeout-ms N --diameter-tls-listen HOST:PORT. Returns 0,
 * 1 when --help was given (usage printed to stdout), or a negative error with
 * the message in err. */
int akv_cfg_from_args(struct akv_cfg *cfg, int argc, char **argv, char *err, size_t errlen);

/* Cross-field checks (limits, cpu list vs workers). Returns 0 or AKV_EINVAL
 * with the message in err. */
int akv_cfg_check(const struct akv_cfg *cfg, char *err, size_t errlen);

/* ==== Helpers ==== */

/* Parses "1,3,5-7" into cpus (at most max entries). Returns the count (> 0)
 * or AKV_EINVAL. */
int akv_cfg_parse_cpus(const char *s, uint16_t *cpus, unsigned max);

/* Splits "host:port" / "[v6]:port" into host (hostcap bytes) and port.
 * Returns 0 or AKV_EINVAL. */
int akv_cfg_split_addr(const char *s, char *host, size_t hostcap, uint16_t *port);

/* Parses a peer spec "ORIGIN-HOST [ADDR] [ind=N]" ("*" = any). 0 or AKV_EINVAL. */
int akv_cfg_parse_peer(const char *s, struct akv_cfg_peer *peer);

/* The configured IND for a peer by Origin-Host (may be NULL) and/or source
 * address (host part only, may be NULL): -1 when no entry sets one. */
int akv_cfg_peer_ind(const struct akv_cfg *cfg, const char *origin_host, const char *addr);

/* Parses "ADDR" or "ADDR/PREFIX" (IPv4 or IPv6) into *net. Bits past the
 * prefix must be zero, so a typo like 10.1.2.3/8 is refused rather than
 * read as 10.0.0.0/8. Returns 0 or AKV_EINVAL. */
int akv_cfg_parse_net(const char *s, struct akv_cfg_net *net);

/* 1 when an AVS/1 client at sa (AF_INET or AF_INET6; IPv4-mapped IPv6
 * addresses count as IPv4) may connect: the allow-list is empty or one of
 * its networks holds the address. 0 otherwise. */
int akv_cfg_allowed(const struct akv_cfg *cfg, const struct sockaddr *sa);

/* Prints the flag summary (for --help). */
void akv_cfg_usage(FILE *f);

#ifdef __cplusplus
}
#endif
#endif
