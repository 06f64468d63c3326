/*
 * dia.h - Diameter base protocol codec (RFC 6733 §3, §4), I/O-free.
 *
 * Decoding works on one complete message in a caller buffer: no allocation,
 * no copies, AVPs are (pointer, length) views into the message and are valid
 * while the message is. akv_dia_check() validates a whole message (header
 * bits, every AVP's length and flags, fixed-size types, grouped AVPs
 * recursively, unknown AVPs with the M bit) and says which Result-Code and
 * Failed-AVP the answer must carry (RFC 6733 §7.1, §7.5), or that framing is
 * lost and the connection must close. After a clean check the iterators and
 * finders below can trust the AVP layout.
 *
 * Encoding writes into a caller buffer through struct akv_dia_wr: header,
 * AVPs with the padding of §4.4, grouped AVPs by begin/end; overflow is
 * sticky and reported once by akv_dia_wr_finish().
 *
 * Client helpers (CER, MAR builders; CEA, MAA parsers) are for
 * `akavs-bench load --diameter` and tests. Thread-safety: everything here is
 * reentrant.
 */
#ifndef AKV_SERVER_PROTO_DIA_H
#define AKV_SERVER_PROTO_DIA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/bytes.h"
#include "proto/dia_avp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_DIA_VERSION	    1
#define AKV_DIA_HDR_LEN	    20
#define AKV_DIA_AVP_HDR_LEN 8	/* 12 with the V bit */
#define AKV_DIA_MSG_MAX	    65536u	/* largest message accepted (framing limit) */
#define AKV_DIA_DEPTH_MAX   8		/* deepest Grouped nesting accepted */

#define AKV_DIA_APP_COMMON 0u		/* base protocol (CER/DWR/DPR) */
#define AKV_DIA_APP_CX	   16777216u	/* TS 29.229 Cx/Dx */
#define AKV_DIA_APP_RELAY  0xffffffffu	/* RFC 6733 §2.4 relay */

/* Command flags (RFC 6733 §3) */
#define AKV_DIA_F_REQ	   0x80
#define AKV_DIA_F_PROXY	   0x40
#define AKV_DIA_F_ERR	   0x20
#define AKV_DIA_F_RETX	   0x10
#define AKV_DIA_F_RESERVED 0x0f
/* AVP flags (RFC 6733 §4.1) */
#define AKV_DIA_AVP_F_V	       0x80
#define AKV_DIA_AVP_F_M	       0x40
#define AKV_DIA_AVP_F_P	       0x20
#define AKV_DIA_AVP_F_RESERVED 0x1f

/* Command codes (RFC 6733 §3.1, TS 29.229 §6.1) */
enum akv_dia_cmd {
	AKV_DIA_CMD_CE = 257,	/* Capabilities-Exchange */
	AKV_DIA_CMD_DW = 280,	/* Device-Watchdog */
	AKV_DIA_CMD_DP = 282,	/* Disconnect-Peer */
	AKV_DIA_CMD_UA = 300,	/* User-Authorization */
	AKV_DIA_CMD_SA = 301,	/* Server-Assignment */
	AKV_DIA_CMD_LI = 302,	/* Location-Info */
	AKV_DIA_CMD_MA = 303,	/* Multimedia-Auth */
	AKV_DIA_CMD_RT = 304,	/* Registration-Termination (HSS-initiated) */
	AKV_DIA_CMD_PP = 305,	/* Push-Profile (HSS-initiated) */
};

/* Result-Code values (RFC 6733 §7.1) */
#define AKV_DIA_SUCCESS			2001
#define AKV_DIA_COMMAND_UNSUPPORTED	3001
#define AKV_DIA_UNABLE_TO_DELIVER	3002
#define AKV_DIA_APPLICATION_UNSUPPORTED 3007
#define AKV_DIA_INVALID_HDR_BITS	3008
#define AKV_DIA_INVALID_AVP_BITS	3009
#define AKV_DIA_UNKNOWN_PEER		3010
#define AKV_DIA_AVP_UNSUPPORTED		5001
#define AKV_DIA_INVALID_AVP_VALUE	5004
#define AKV_DIA_MISSING_AVP		5005
#define AKV_DIA_AVP_OCCURS_TOO_MANY	5009
#define AKV_DIA_NO_COMMON_APPLICATION	5010
#define AKV_DIA_UNABLE_TO_COMPLY	5012
#define AKV_DIA_INVALID_AVP_LENGTH	5014
#define AKV_DIA_INVALID_MESSAGE_LENGTH	5015
#define AKV_DIA_NO_COMMON_SECURITY	5017

/* Disconnect-Cause (RFC 6733 §5.4.3) */
#define AKV_DIA_DISC_REBOOTING 0
#define AKV_DIA_DISC_BUSY      1
#define AKV_DIA_DISC_DO_NOT_WANT_TO_TALK 2

#define AKV_DIA_FAILED_MAX 512	/* largest AVP copied into a Failed-AVP */

/* ==== Types ==== */

struct akv_dia_hdr {
	uint8_t version;
	uint8_t flags;
	uint32_t len;		/* whole message, header included */
	uint32_t cmd;		/* 24 bits */
	uint32_t app;
	uint32_t hbh;		/* Hop-by-Hop Identifier */
	uint32_t e2e;		/* End-to-End Identifier */
};

/* A view of one AVP inside a message. */
struct akv_dia_avp {
	uint32_t code;
	uint32_t vendor;	/* 0 when the V bit is clear */
	uint8_t flags;
	uint32_t len;		/* data length (AVP Length minus header) */
	const uint8_t *data;
	const uint8_t *raw;	/* AVP header */
	uint32_t raw_len;	/* AVP Length field: header + data, no padding */
};

/* Reads one AVP header at p (n bytes left) into *a without judging it
 * (RFC 6733 §4.1: V bit -> 12-byte header with Vendor-ID). Returns the bytes
 * the AVP occupies with its padding (> 0), or 0 if it does not fit. The last
 * AVP of a Grouped may come without its padding. Inline: the codec's and the
 * load generator's hot loops keep the fields in registers. */
static inline size_t
akv_dia_avp_read(const uint8_t *p, size_t n, struct akv_dia_avp *a)
{
	size_t hl, padded;

	if (n < AKV_DIA_AVP_HDR_LEN)
		return 0;
	a->raw = p;
	a->code = akv_get_be32(p);
	a->flags = p[4];
	a->raw_len = akv_get_be24(p + 5);
	hl = (a->flags & AKV_DIA_AVP_F_V) ? 12 : 8;
	if (n < hl || a->raw_len < hl || a->raw_len > n)
		return 0;
	a->vendor = hl == 12 ? akv_get_be32(p + 8) : 0;
	a->data = p + hl;
	a->len = a->raw_len - (uint32_t)hl;
	padded = ((size_t)a->raw_len + 3) & ~(size_t)3;
	return padded <= n ? padded : a->raw_len;
}

/* What akv_dia_check() found wrong with an answerable message. */
struct akv_dia_error {
	uint32_t result_code;		/* 0: message is fine */
	const char *text;		/* static Error-Message text, never secrets */
	uint16_t failed_len;		/* bytes of the AVP for Failed-AVP, 0 none */
	uint8_t failed[AKV_DIA_FAILED_MAX];
};

/* Index of a message's top-level AVPs, filled by akv_dia_check_idx() in
 * the same pass that validates them: for each AVP the dictionary knows
 * (slot = enum akv_dia_row) how many instances the top level holds and where
 * the first one is, so a request's ~20 presence and lookup questions cost a
 * load each instead of a walk each. AVPs the dictionary does not know are
 * not indexed (use akv_dia_find). Valid only after a clean check. */
#define AKV_DIA_IDX_SLOTS 128
struct akv_dia_idx {
	const uint8_t *msg;			/* the message indexed */
	uint8_t count[AKV_DIA_IDX_SLOTS];	/* instances, saturating at 255 */
	uint32_t first[AKV_DIA_IDX_SLOTS];	/* offset in msg of the first one's
						 * header; set only when count > 0 */
};

/* Iterator over an AVP area (message body or Grouped data). */
struct akv_dia_it {
	const uint8_t *p, *end;
};

/* Writer. Fields are private by contract. */
struct akv_dia_wr {
	uint8_t *buf;
	size_t cap, len;
	int over;			/* sticky: something did not fit */
	unsigned depth;
	size_t grp[AKV_DIA_DEPTH_MAX];	/* offsets of open Grouped AVPs */
};

/* ==== Decoding ==== */

/* Framing: length of the message starting at buf. Returns the length (>= 20)
 * when the first 4 bytes are known, AKV_EPARTIAL with fewer than 4 bytes,
 * AKV_EPROTO when the version is not 1 or the length is < 20 or not a
 * multiple of 4, AKV_ETOOBIG when it exceeds max (nothing is allocated for
 * it: the caller closes). */
int akv_dia_frame_len(const uint8_t *buf, size_t len, size_t max);

/* Decodes the 20-byte header. Returns 0 or AKV_EPROTO (len < 20). */
int akv_dia_hdr_decode(const uint8_t *buf, size_t len, struct akv_dia_hdr *h);

/* Validates a complete message of `len` bytes (len == its Message Length)
 * and decodes its header into *h. Returns AKV_EPROTO when framing is lost
 * (then close); otherwise 0 with err->result_code 0 (clean) or the code to
 * answer with: 3008 bad command flags, 3009 reserved AVP flag bits set, 5014
 * an AVP length that is too short, overruns the message or does not fit its
 * type, 5015 trailing bytes that cannot hold an AVP, 5001 an unknown AVP
 * with the M bit, 5004 a value that is not valid for its type (bad UTF-8,
 * Address family), with the offending AVP in err->failed (RFC 6733 §7.5). */
int akv_dia_check(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
		  struct akv_dia_error *err);

/* akv_dia_check() that also fills *idx with the top-level AVPs. The index
 * answers questions only when the return is 0 and err->result_code is 0. */
int akv_dia_check_idx(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
		      struct akv_dia_error *err, struct akv_dia_idx *idx);

/* ---- A peer's memo of repeated AVPs ----
 * A peer repeats most of each request byte for byte: Origin-Host/-Realm,
 * Destination-Realm, Vendor-Specific-Application-Id, Auth-Session-State,
 * Server-Name... akv_dia_check_memo() learns up to AKV_DIA_MEMO_RUNS runs of
 * such consecutive top-level AVPs from a clean Cx request; where a later
 * message carries the same bytes at an AVP boundary, the run is indexed from
 * the memo instead of walked. Same results: an AVP's verdict depends only on
 * its own bytes and on whether its padding fits, which inside a run it
 * does, and every AVP of a run passed the check when it was learned. */
#define AKV_DIA_MEMO_RUNS  2
#define AKV_DIA_MEMO_AVPS  8	/* AVPs in one run, at most */
#define AKV_DIA_MEMO_BYTES 256	/* bytes of all runs */

struct akv_dia_memo_run {
	uint64_t head;				/* its first 8 bytes */
	uint16_t off, len;			/* its bytes in akv_dia_memo.bytes */
	uint8_t navp;
	uint8_t row[AKV_DIA_MEMO_AVPS];		/* each AVP's enum akv_dia_row */
	uint16_t at[AKV_DIA_MEMO_AVPS];		/* each AVP's offset in the run */
};

/* Zeroed before first use; one per connection (a peer's own requests). */
struct akv_dia_memo {
	uint8_t nrun;
	uint8_t misses;		/* checked messages since a run last matched */
	uint8_t wait;		/* clean requests to let pass before learning again */
	struct akv_dia_memo_run run[AKV_DIA_MEMO_RUNS];
	uint8_t bytes[AKV_DIA_MEMO_BYTES];
};

/* akv_dia_check_idx() that uses and updates a peer's memo: the same return,
 * header, error and index for every input. */
int akv_dia_check_memo(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
		       struct akv_dia_error *err, struct akv_dia_idx *idx,
		       struct akv_dia_memo *memo);

/* ---- A peer's request shape ----
 * Beyond runs, a peer sends the same request over and over with a few
 * values changed: a Cx MAR differs from the last one only in its
 * Hop-by-Hop/End-to-End ids, Session-Id, User-Name and Public-Identity.
 * akv_dia_tpl_learn() records a clean message as fixed bytes and holes (the
 * top-level AVPs of the rows the caller names); akv_dia_tpl_match() says
 * whether another message is the same sequence of AVPs: the header equal
 * but for its length and ids, each fixed byte equal, each hole an AVP with
 * the learned code, flags and Vendor-Id whose value is valid for its type.
 * Such a message passes akv_dia_check() cleanly, and the top-level AVPs it
 * holds are those of the learned message (same rows, same order, same
 * counts): the verdicts differ only where a caller reads a hole's value. */
#define AKV_DIA_TPL_BYTES 512	/* fixed bytes of a shape's AVPs */
#define AKV_DIA_TPL_SEGS  12	/* fixed runs and holes, in message order */
#define AKV_DIA_TPL_HOLES 4

struct akv_dia_tpl_seg {
	uint16_t off, len;	/* fixed: its bytes in akv_dia_tpl.bytes; hole: 0, 0 */
	uint8_t hole;		/* 1: a hole, the next entry of akv_dia_tpl.hole_row */
	uint8_t hl;		/* hole: header length, 8 or 12 */
	uint32_t info;		/* hole: dictionary info word of its row */
	uint64_t head;		/* hole: its first 8 bytes, AVP Length zeroed */
	uint32_t vendor;	/* hole: Vendor-Id (hl 12) */
};

/* Zeroed: nothing learned. */
struct akv_dia_tpl {
	uint8_t nseg, nhole;
	uint8_t hole_row[AKV_DIA_TPL_HOLES];	/* enum akv_dia_row of each hole */
	uint64_t hdr;				/* header bytes 4..11 (flags, cmd, app) */
	struct akv_dia_tpl_seg seg[AKV_DIA_TPL_SEGS];
	uint8_t bytes[AKV_DIA_TPL_BYTES];
};

/* A hole's value in a matched message. */
struct akv_dia_tpl_val {
	const uint8_t *data;
	uint32_t len;
};

/* Learns the shape of a message akv_dia_check() found clean: AVPs of the
 * rows with is_hole[row] set (non-Grouped only) become holes, all others
 * fixed bytes. Returns 0, or AKV_ETOOBIG (t zeroed) when the shape does not
 * fit AKV_DIA_TPL_*. */
int akv_dia_tpl_learn(struct akv_dia_tpl *t, const uint8_t *msg, size_t len,
		      const uint8_t is_hole[AKV_DIA_IDX_SLOTS]);
/* 1 when msg (len from the framing) has the shape learned into t, with the
 * holes' values in val[0..t->nhole) in message order; 0 otherwise. */
int akv_dia_tpl_match(const struct akv_dia_tpl *t, const uint8_t *msg, size_t len,
		      struct akv_dia_tpl_val *val);

/* How many top-level instances of the AVP of row r the message holds
 * (saturating at 255); akv_dia_count() from the index. */
static inline unsigned
akv_dia_idx_count(const struct akv_dia_idx *x, enum akv_dia_row r)
{
	return x->count[r];
}
/* The first top-level instance of row r, which the caller knows is present
 * (akv_dia_idx_count(x, r) > 0). */
static inline void
akv_dia_idx_get(const struct akv_dia_idx *x, enum akv_dia_row r, struct akv_dia_avp *out)
{
	/* a header the check has validated */
	const uint8_t *p = x->msg + x->first[r];
	uint32_t hl = (p[4] & AKV_DIA_AVP_F_V) ? 12 : 8;

	out->raw = p;
	out->code = akv_get_be32(p);
	out->flags = p[4];
	out->raw_len = akv_get_be32(p + 4) & 0xffffff;
	out->vendor = hl == 12 ? akv_get_be32(p + 8) : 0;
	out->data = p + hl;
	out->len = out->raw_len - hl;
}

/* The first top-level instance of row r: 1 found (*out set), 0 absent;
 * akv_dia_find() from the index. */
static inline int
akv_dia_idx_find(const struct akv_dia_idx *x, enum akv_dia_row r, struct akv_dia_avp *out)
{
	if (!x->count[r])
		return 0;
	akv_dia_idx_get(x, r, out);
	return 1;
}
/* akv_dia_find_u32() from the index: 1 found and valid, 0 absent,
 * AKV_EPROTO wrong length. */
int akv_dia_idx_find_u32(const struct akv_dia_idx *x, enum akv_dia_row r, uint32_t *v);

/* Sets err to 5005 DIAMETER_MISSING_AVP with an example of the missing AVP
 * (zero-filled minimum payload) as Failed-AVP (RFC 6733 §7.5). */
void akv_dia_err_missing(struct akv_dia_error *err, uint32_t code, uint32_t vendor);
/* Sets err to `rc` with a copy of `avp` as Failed-AVP (NULL: none). */
void akv_dia_err_avp(struct akv_dia_error *err, uint32_t rc, const struct akv_dia_avp *avp,
		     const char *text);

/* 1 when a's value is valid for its dictionary type (unknown AVPs: 1). */
int akv_dia_avp_valid(const struct akv_dia_avp *a);

void akv_dia_it_init(struct akv_dia_it *it, const uint8_t *area, size_t len);
/* Next AVP: 1 with *a filled, 0 at the end, AKV_EPROTO when the area is
 * malformed (never after a clean akv_dia_check of the enclosing message). */
int akv_dia_it_next(struct akv_dia_it *it, struct akv_dia_avp *a);

/* The AVP area of a message (after the header). */
static inline const uint8_t *
akv_dia_body(const uint8_t *msg)
{
	return msg + AKV_DIA_HDR_LEN;
}

/* First AVP (code, vendor) in the area: 1 found, 0 not. */
int akv_dia_find(const uint8_t *area, size_t len, uint32_t code, uint32_t vendor,
		 struct akv_dia_avp *out);
/* How many AVPs (code, vendor) the area holds. */
unsigned akv_dia_count(const uint8_t *area, size_t len, uint32_t code, uint32_t vendor);
/* Unsigned32 / Unsigned64 value of an AVP: 0, or AKV_EPROTO on a wrong length. */
int akv_dia_get_u32(const struct akv_dia_avp *a, uint32_t *v);
int akv_dia_get_u64(const struct akv_dia_avp *a, uint64_t *v);
/* Convenience: find + u32. 1 found and valid, 0 absent, AKV_EPROTO bad. */
int akv_dia_find_u32(const uint8_t *area, size_t len, uint32_t code, uint32_t vendor,
		     uint32_t *v);

/* ==== Encoding ==== */

void akv_dia_wr_init(struct akv_dia_wr *w, uint8_t *buf, size_t cap);
/* Writes the header (length patched by finish). */
void akv_dia_wr_hdr(struct akv_dia_wr *w, uint8_t flags, uint32_t cmd, uint32_t app,
		    uint32_t hbh, uint32_t e2e);
/* An AVP with explicit flags (V is set when vendor != 0). */
void akv_dia_put_flags(struct akv_dia_wr *w, uint32_t code, uint8_t flags, uint32_t vendor,
		       const void *data, size_t len);
/* An AVP with the M bit the dictionary gives (unknown: M set). */
void akv_dia_put(struct akv_dia_wr *w, uint32_t code, uint32_t vendor, const void *data,
		 size_t len);
void akv_dia_put_u32(struct akv_dia_wr *w, uint32_t code, uint32_t vendor, uint32_t v);
void akv_dia_put_u64(struct akv_dia_wr *w, uint32_t code, uint32_t vendor, uint64_t v);
void akv_dia_put_str(struct akv_dia_wr *w, uint32_t code, uint32_t vendor, const char *s);
/* Address AVP: family 1 (IPv4, 4 bytes) or 2 (IPv6, 16 bytes). */
void akv_dia_put_addr(struct akv_dia_wr *w, uint32_t code, uint16_t family, const uint8_t *a,
		      size_t alen);
/* Copies a whole AVP (raw, raw_len = its AVP Length) and pads it. */
void akv_dia_put_raw(struct akv_dia_wr *w, const uint8_t *raw, size_t raw_len);
/* Grouped AVP: begin, put members, end (nesting up to AKV_DIA_DEPTH_MAX). */
void akv_dia_group_begin(struct akv_dia_wr *w, uint32_t code, uint32_t vendor);
void akv_dia_group_end(struct akv_dia_wr *w);
/* Vendor-Specific-Application-Id {Vendor-Id, Auth-Application-Id}. */
void akv_dia_put_vsai(struct akv_dia_wr *w, uint32_t vendor, uint32_t auth_app);
/* Experimental-Result {Vendor-Id, Experimental-Result-Code}. */
void akv_dia_put_exp_result(struct akv_dia_wr *w, uint32_t vendor, uint32_t code);
/* Patches the Message Length. Returns the length, or AKV_ETOOBIG when
 * anything did not fit (or a group was left open: AKV_EINVAL). */
int akv_dia_wr_finish(struct akv_dia_wr *w);

/* ---- Direct stores ----
 * For encoders that size a whole message first and check its capacity once
 * (the MAA, the MAR builder): each writes one AVP at p, which must have
 * room, and returns the end of it with its padding. All set the M bit (and
 * V with the Vendor-Id when vendor != 0): use them only for AVPs whose
 * dictionary M bit is 1. */

/* Bytes an AVP with n data bytes occupies, padding included (§4.4). */
static inline size_t
akv_dia_avp_size(uint32_t vendor, size_t n)
{
	return ((vendor ? 12 : 8) + n + 3) & ~(size_t)3;
}

/* A message header (RFC 6733 §3: Version 1, Message Length len, flags,
 * Command-Code, Application-Id, Hop-by-Hop and End-to-End Identifiers);
 * returns where the first AVP goes. */
static inline uint8_t *
akv_dia_st_msg_hdr(uint8_t *p, size_t len, uint8_t flags, uint32_t cmd, uint32_t app,
		   uint32_t hbh, uint32_t e2e)
{
	akv_put_be32(p, (uint32_t)len);
	p[0] = AKV_DIA_VERSION;
	akv_put_be32(p + 4, cmd);
	p[4] = flags;
	akv_put_be32(p + 8, app);
	akv_put_be32(p + 12, hbh);
	akv_put_be32(p + 16, e2e);
	return p + AKV_DIA_HDR_LEN;
}

/* AVP header for `len` bytes of header + data; returns where data goes. */
static inline uint8_t *
akv_dia_st_hdr(uint8_t *p, uint32_t code, uint32_t vendor, size_t len)
{
	akv_put_be32(p, code);
	akv_put_be32(p + 4, (uint32_t)len);
	p[4] = vendor ? AKV_DIA_AVP_F_M | AKV_DIA_AVP_F_V : AKV_DIA_AVP_F_M;
	if (!vendor)
		return p + 8;
	akv_put_be32(p + 8, vendor);
	return p + 12;
}

static inline uint8_t *
akv_dia_st_u32(uint8_t *p, uint32_t code, uint32_t vendor, uint32_t v)
{
	uint8_t *d = akv_dia_st_hdr(p, code, vendor, (vendor ? 12 : 8) + 4);

	akv_put_be32(d, v);
	return d + 4;
}

/* n bytes of data and their zero padding. */
static inline uint8_t *
akv_dia_st_bytes(uint8_t *p, uint32_t code, uint32_t vendor, const void *data, size_t n)
{
	uint8_t *d = akv_dia_st_hdr(p, code, vendor, (vendor ? 12 : 8) + n);

	/* the padding: the last word zeroed first, then the data over its
	 * head (a memset of 1..3 bytes was a call per AVP) */
	if (n & 3) {
		const uint32_t zero = 0;

		memcpy(d + (n & ~(size_t)3), &zero, 4);
	}
	akv_copy_short(d, data, n);
	return d + ((n + 3) & ~(size_t)3);
}

/* ==== Client helpers (bench, tests) ==== */

/* Identity of the sending node. */
struct akv_dia_node {
	const char *origin_host;
	const char *origin_realm;
	uint8_t ipv4[4];		/* Host-IP-Address */
	uint32_t origin_state_id;
	const char *product_name;
};

/* CER advertising Cx {10415, 16777216}. Returns length or an error. */
int akv_dia_build_cer(uint8_t *out, size_t cap, const struct akv_dia_node *n, uint32_t hbh,
		      uint32_t e2e);
/* DWR / DPR (cause) requests. Return length or an error. */
int akv_dia_build_dwr(uint8_t *out, size_t cap, const struct akv_dia_node *n, uint32_t hbh,
		      uint32_t e2e);
int akv_dia_build_dpr(uint8_t *out, size_t cap, const struct akv_dia_node *n, uint32_t hbh,
		      uint32_t e2e, uint32_t cause);

/* A MAR as an S-CSCF sends it (REFERENCE §7.1): Session-Id, Origin-*,
 * Destination-Realm, VSAI, Auth-Session-State 1, Public-Identity, User-Name,
 * SIP-Number-Auth-Items n, SIP-Auth-Data-Item {scheme[, SIP-Authorization
 * = rand_auts (30 bytes) when non-NULL]}, Server-Name. */
struct akv_dia_mar {
	const char *session_id;
	const char *dest_realm;
	const char *impi, *impu;
	const char *scheme;		/* e.g. "Digest-AKAv1-MD5" */
	const char *server_name;
	uint32_t n;
	const uint8_t *rand_auts;	/* 30 bytes or NULL */
};
int akv_dia_build_mar(uint8_t *out, size_t cap, const struct akv_dia_node *node,
		      const struct akv_dia_mar *m, uint32_t hbh, uint32_t e2e);

/* Result of an answer: Result-Code, or Experimental-Result-Code (vendor). */
struct akv_dia_result {
	uint32_t result_code;		/* 0 when absent */
	uint32_t exp_code;		/* 0 when absent */
	uint32_t exp_vendor;
};
/* Checks an answer and reads its result. Returns 0, AKV_EPROTO (malformed,
 * or not an answer, or neither result present). */
int akv_dia_parse_result(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
			 struct akv_dia_result *r);
/* The same, also giving the checked answer's index (*x) for further lookups
 * without another walk (akv_dia_idx_find). */
int akv_dia_parse_result_idx(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
			     struct akv_dia_result *r, struct akv_dia_idx *x);

/* One SIP-Auth-Data-Item of a MAA. */
struct akv_dia_maa_item {
	uint32_t item_number;
	uint8_t rand[16], autn[16];
	uint8_t xres[16], ck[16], ik[16];
	uint8_t xres_len;
	char scheme[32];
};
/* Parses a MAA: result and up to max items (RAND||AUTN 32 bytes, XRES 4..16,
 * CK/IK 16 each, else AKV_EPROTO). *nitems is the number of items stored. */
int akv_dia_parse_maa(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
		      struct akv_dia_result *r, struct akv_dia_maa_item *items, unsigned max,
		      unsigned *nitems);

#ifdef __cplusplus
}
#endif
#endif
