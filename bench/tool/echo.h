/*
 * echo.h - the io_uring echo baseline: its wire format and an in-process
 * server API (used by `akavs-bench echo` and by `load --vs-echo`).
 *
 * Frames are shaped like AVS/1's (docs/PROTOCOL.md) so that delimiting them
 * costs the same: a 16-byte header, all integers big-endian,
 *   u32 length (whole frame) | u8 version = 1 | u8 op | u8 flags = 0 |
 *   u8 reserved = 0 | u64 id
 * A request (op AKV_ECHO_OP_REQ) carries a u32 reply length after the
 * header, then padding to the request size the client wants; the answer
 * (op AKV_ECHO_OP_ANS) echoes the id and is padded to that reply length.
 * So one server mimics any message sizes (AVS/1, Diameter) chosen by the
 * client, request by request.
 */
#ifndef AKV_BENCH_TOOL_ECHO_H
#define AKV_BENCH_TOOL_ECHO_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define AKV_ECHO_HDR_LEN 16
#define AKV_ECHO_REQ_MIN 20 /* header + reply length */
#define AKV_ECHO_FRAME_MAX 65536
#define AKV_ECHO_OP_REQ 0x7e
#define AKV_ECHO_OP_ANS 0xfe

struct akv_echo_cfg {
	struct sockaddr_in addr; /* port 0: an ephemeral port */
	unsigned threads;	 /* rings (SO_REUSEPORT listeners), >= 1 */
	unsigned max_conns;	 /* per thread; more are accepted and closed */
	int cpu;		 /* first CPU to pin threads to, -1: no pinning */
};

struct akv_echo_stats {
	uint64_t requests, bytes_in, bytes_out, conns, refused, bad_frames;
};

struct akv_echo;

/* Length of the echo frame at buf (>0), AKV_EPARTIAL, or AKV_EPROTO. */
int akv_echo_frame_len(const uint8_t *buf, size_t len);
/* Writes a request of `req_len` bytes (>= AKV_ECHO_REQ_MIN) asking for a
 * `reply_len`-byte answer (>= AKV_ECHO_HDR_LEN). Returns req_len or AKV_EINVAL. */
int akv_echo_req_encode(uint8_t *out, size_t req_len, uint64_t id, size_t reply_len);

/* Starts the server threads; on success *port is the bound port (network
 * order converted to host order). Returns 0 or -errno / AKV_EINVAL. */
int akv_echo_start(const struct akv_echo_cfg *cfg, struct akv_echo **out, uint16_t *port);
/* Stops (in-flight replies are dropped with the connections), joins the
 * threads, fills *st (if non-NULL) and frees. */
void akv_echo_stop(struct akv_echo *e, struct akv_echo_stats *st);

#endif
