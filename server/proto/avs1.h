/*
 * avs1.h - AVS/1, akavs' native binary protocol (byte layouts: docs/PROTOCOL.md).
 *
 * Two halves, both I/O-free:
 *  - the server side, `akv_avs1_ops` (proto.h), which the front end drives;
 *  - pure encode/decode functions for requests and answers, used by the
 *    server itself, the client library (client/client.h), the load generator
 *    and the tests.
 *
 * Every frame starts with a 16-byte header (all integers big-endian):
 *   u32 length (whole frame, header included) | u8 version=1 | u8 opcode |
 *   u8 flags | u8 reserved=0 | u64 request id
 * Answers carry the request's opcode | 0x80 and echo its id; they may come
 * in any order. Decoders are strict (exact lengths, reserved bits zero), so a
 * frame decodes and re-encodes byte for byte.
 *
 * Thread-safety: every function here is reentrant; the malformed-frame
 * counters are process-wide relaxed atomics. The STATS source is set once
 * before the front ends start.
 */
#ifndef AKV_SERVER_PROTO_AVS1_H
#define AKV_SERVER_PROTO_AVS1_H

#include <stddef.h>
#include <stdint.h>

#include "aka/eng.h"
#include "proto/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_AVS1_VERSION 1
#define AKV_AVS1_HDR_LEN 16
#define AKV_AVS1_FRAME_MAX 65536 /* longest frame accepted, header included */
#define AKV_AVS1_PING_MAX 4096	 /* longest PING payload (echoed back) */
#define AKV_AVS1_WWW_MAX 512	 /* longest WWW-Authenticate value per vector */
#define AKV_AVS1_TEXT_MAX 255	 /* longest error text */
#define AKV_AVS1_STATS_MAX 255	 /* most counters in one STATS answer */
#define AKV_AVS1_ANS_BIT 0x80	 /* opcode bit marking an answer */
#define AKV_AVS1_IND_NONE 0xff	 /* request IND byte: no hint */
#define AKV_AVS1_PORT 7430	 /* default TCP port */

/* Opcodes (requests; answers add AKV_AVS1_ANS_BIT). 1..4 equal enum akv_op. */
enum akv_avs1_op {
	AKV_AVS1_CHALLENGE = 1,
	AKV_AVS1_VERIFY = 2,
	AKV_AVS1_RESYNC = 3,
	AKV_AVS1_VECTORS = 4,
	AKV_AVS1_PING = 5,
	AKV_AVS1_STATS = 6,
};

/* Header flags. */
#define AKV_AVS1_F_WWW 0x01	   /* CHALLENGE/RESYNC: add a WWW-Authenticate value per vector */
#define AKV_AVS1_F_WWW_NOKEYS 0x02 /* with F_WWW: leave ck=/ik= out of it */
#define AKV_AVS1_F_ERROR 0x80	   /* answer: body is an error (code + text) */

/* VERIFY kinds (equal enum akv_verify_kind). */
#define AKV_AVS1_VERIFY_RES 0
#define AKV_AVS1_VERIFY_DIGEST 1

/* ==== Types ==== */

/* A request. Strings are borrowed (not NUL-terminated): from the caller when
 * encoding, from the frame when decoding (valid as long as the frame).
 * Decoding clears the scalars and pointers but writes the arrays (rand, auts,
 * res, dig) only for the ops that carry them; encoding reads only the fields
 * of r->op. */
struct akv_avs1_req {
	uint8_t op;    /* enum akv_avs1_op */
	uint8_t flags; /* AKV_AVS1_F_WWW[_NOKEYS] for CHALLENGE/RESYNC */
	uint64_t id;
	/* CHALLENGE, RESYNC, VECTORS */
	uint8_t n;	/* vectors wanted, 1..AKV_VEC_MAX */
	uint8_t scheme; /* enum akv_scheme */
	uint8_t ind;	/* IND hint, AKV_AVS1_IND_NONE: none */
	/* CHALLENGE, RESYNC, VECTORS, VERIFY (impi only for VERIFY) */
	const char *impi, *impu, *realm;      /* realm: for the WWW-Authenticate value */
	size_t impi_len, impu_len, realm_len; /* each <= AKV_ID_MAX (the wire has a byte) */
	/* RESYNC (rand, auts), VERIFY by RES (rand, res) */
	uint8_t rand[16];
	uint8_t auts[14];
	uint8_t kind;	 /* VERIFY: AKV_AVS1_VERIFY_RES or _DIGEST */
	uint8_t res_len; /* 4..16 */
	uint8_t res[16];
	/* VERIFY by Digest: the Authorization fields, enum akv_dig_field order */
	uint8_t alg; /* enum akv_digest_alg */
	struct akv_str dig[AKV_DIG_NFIELDS];
	/* PING */
	const uint8_t *data;
	size_t data_len;
};

/* An answer. Decoding fills it from a frame (borrowed pointers into it),
 * writing only the fields of its op; encoding reads only those. */
struct akv_avs1_ans {
	uint8_t op;    /* the request's opcode (answer bit removed) */
	uint8_t flags; /* AKV_AVS1_F_ERROR, or the WWW flags for CHALLENGE/RESYNC */
	uint64_t id;
	/* F_ERROR: err is the negative code (AKV_E* or -errno), text its text */
	int err;
	const char *text;
	uint8_t text_len;
	/* VERIFY */
	uint8_t verdict;	/* enum akv_verdict */
	uint8_t attempts_left;	/* FAIL: wrong answers still allowed */
	uint8_t ck[16], ik[16]; /* OK only */
	/* CHALLENGE, RESYNC (rand, autn, ck, ik), VECTORS (also xres) */
	uint8_t scheme; /* scheme used */
	uint8_t nvec;
	const struct akv_eng_vec *vec; /* encode: nvec entries; decode: points at vbuf */
	struct akv_eng_vec vbuf[AKV_VEC_MAX];
	/* With F_WWW: per vector the WWW-Authenticate value. Decode: borrowed.
	 * Encode: if www[0] is NULL they are built from `realm` and the vector
	 * (akv_digest_www_authenticate, scheme's algorithm). */
	const char *www[AKV_VEC_MAX];
	uint16_t www_len[AKV_VEC_MAX];
	const char *realm;
	uint8_t realm_len;
	/* PING: the echoed payload */
	const uint8_t *data;
	size_t data_len;
	/* STATS: nstats entries, walk them with akv_avs1_stats_next() */
	uint16_t nstats;
	const uint8_t *stats;
	size_t stats_len;
};

/* The server counters STATS reports, filled by the front end through
 * akv_avs1_stats_put(). */
struct akv_avs1_stats_writer {
	uint8_t *p; /* private: where the next entry goes */
	uint8_t *end;
	uint16_t n;
	uint32_t dropped; /* entries refused: bad key, or no room */
};
/* Called by on_msg for each STATS request, on the front-end thread that owns
 * the connection. It must not block; it reads the server's counters however
 * it likes (relaxed atomics, per-thread snapshots) and calls
 * akv_avs1_stats_put() once per counter. */
typedef void (*akv_avs1_stats_fn)(void *arg, struct akv_avs1_stats_writer *w);

/* Malformed input seen by AVS/1 since start, all connections. */
struct akv_avs1_counters {
	uint64_t framing;	/* frame_len refused (bad or huge length): conn closed */
	uint64_t bad_version;	/* version byte != 1 */
	uint64_t unknown_op;	/* opcode not a request */
	uint64_t malformed;	/* bad lengths, flags, reserved bytes, field values */
	uint64_t error_answers; /* error answers of any cause, engine errors included */
};

/* ==== Server side ==== */

/* Installs the STATS source (NULL: only the codec's own counters are sent).
 * Call once before any connection exists. */
void akv_avs1_set_stats_source(akv_avs1_stats_fn fn, void *arg);
/* Adds one counter to a STATS answer. Keys are 1..63 bytes of [a-z0-9_.].
 * An entry with another key, or past AKV_AVS1_STATS_MAX - 1 entries or the
 * answer's room, is dropped and counted: the answer then ends with
 * `stats.dropped` (room for it is always kept), never silently short. */
void akv_avs1_stats_put(struct akv_avs1_stats_writer *w, const char *key, uint64_t value);
/* Reads the malformed-input counters. */
void akv_avs1_counters(struct akv_avs1_counters *out);

/* ==== Pure codec ==== */

/* Length of the frame at buf: >0 once the 4-byte length is there,
 * AKV_EPARTIAL before, AKV_EPROTO for a length below the header,
 * AKV_ETOOBIG above AKV_AVS1_FRAME_MAX. Does not count anything. */
int akv_avs1_frame_len(const uint8_t *buf, size_t len);

/* Encodes a request. Returns the frame length, AKV_EINVAL for a field out of
 * range (unknown op, n = 0 or > AKV_VEC_MAX, empty IMPI, ...), AKV_ETOOBIG
 * when an identity is over AKV_ID_MAX bytes or the Digest fields or PING
 * payload are over their limit, or
 * AKV_CRYPTO_ENOSPC when cap is too small. Lengths are the _len fields. */
int akv_avs1_req_encode(const struct akv_avs1_req *r, uint8_t *out, size_t cap);

/* Decodes one whole request frame (len = its frame_len). Returns 0, or an
 * error code for the answer: AKV_EPROTO (malformed, bad version), AKV_ETOOBIG,
 * AKV_EUNKNOWN_OP, AKV_EBAD_N, AKV_ESCHEME. When the header could be read,
 * r->op / r->flags / r->id are set even on error; *why (if non-NULL) gets a
 * static detail text. */
int akv_avs1_req_decode(const uint8_t *msg, size_t len, struct akv_avs1_req *r, const char **why);

/* Encodes an answer (a->flags & F_ERROR: error answer from a->err and
 * a->text, or akv_strerror(a->err) when text is NULL). Returns the frame
 * length, AKV_EINVAL for out-of-range fields, AKV_CRYPTO_ENOSPC when cap is
 * too small. */
int akv_avs1_ans_encode(const struct akv_avs1_ans *a, uint8_t *out, size_t cap);

/* Decodes one whole answer frame into *a (vec points at a->vbuf, strings into
 * msg). Returns 0 or AKV_EPROTO / AKV_EUNKNOWN_OP; *why as for requests. */
int akv_avs1_ans_decode(const uint8_t *msg, size_t len, struct akv_avs1_ans *a, const char **why);

/* Walks a decoded STATS answer: `*pos` starts at 0. Returns 1 with key (not
 * NUL-terminated, key_len bytes) and value set, 0 at the end. */
int akv_avs1_stats_next(const struct akv_avs1_ans *a, size_t *pos, const char **key,
			size_t *key_len, uint64_t *value);

/* Names: "CHALLENGE" ... for an opcode, "?" if unknown. */
const char *akv_avs1_op_name(unsigned op);

#ifdef __cplusplus
}
#endif
#endif
