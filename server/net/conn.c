/*
 * conn.c - the connection state machine table and per-connection buffers
 * (see conn.h). The I/O itself is driven by fe.c.
 */
#include "conn.h"

#include <string.h>

#include "err.h"
#include "log.h"
#include "mem.h"
#include "tls.h"

#define BIT(s) (1u << (s))

/* Legal transitions (STYLE 2.7, after osmo-hlr's lu_fsm_states[]). Every
 * live state may fall to CLOSING on a socket error; only CLOSING returns a
 * conn to the pool. */
static const uint8_t conn_next[AKV_CONN_NST] = {
    [AKV_CONN_DEAD] = BIT(AKV_CONN_ACCEPTED),
    [AKV_CONN_ACCEPTED] = BIT(AKV_CONN_OPEN) | BIT(AKV_CONN_DRAINING) | BIT(AKV_CONN_CLOSING),
    [AKV_CONN_OPEN] = BIT(AKV_CONN_DRAINING) | BIT(AKV_CONN_CLOSING),
    [AKV_CONN_DRAINING] = BIT(AKV_CONN_CLOSING),
    [AKV_CONN_CLOSING] = BIT(AKV_CONN_DEAD),
};

static const char *const conn_state_names[AKV_CONN_NST] = {
    [AKV_CONN_DEAD] = "DEAD",	      [AKV_CONN_ACCEPTED] = "ACCEPTED", [AKV_CONN_OPEN] = "OPEN",
    [AKV_CONN_DRAINING] = "DRAINING", [AKV_CONN_CLOSING] = "CLOSING",
};

/* see conn.h */
const char *
akv_conn_state_name(unsigned state)
{
	return state < AKV_CONN_NST ? conn_state_names[state] : "?";
}

/* see conn.h */
void
akv_conn_set_state(struct akv_conn *c, enum akv_conn_state to)
{
	AKV_ASSERT(c->state < AKV_CONN_NST && to < AKV_CONN_NST);
	AKV_ASSERT(conn_next[c->state] & BIT(to));
	if (akv_log_on(AKV_LOG_DEBUG))
		akv_log(AKV_LOG_DEBUG, "conn %u/%u %s: %s -> %s", c->idx, c->gen, c->info.peer_addr,
			conn_state_names[c->state], conn_state_names[to]);
	c->state = (uint8_t)to;
}

/* see conn.h */
void
akv_conn_bufs_alloc(struct akv_conn *c)
{
	if (c->rx)
		return;
	c->rx = akv_malloc(AKV_CONN_RX_MAX);
	c->tx[0] = akv_malloc(AKV_CONN_TX_CAP);
	c->tx[1] = akv_malloc(AKV_CONN_TX_CAP);
	c->rx_off = c->rx_len = 0;
	c->tx_len = 0;
}

/* see conn.h */
void
akv_conn_bufs_free(struct akv_conn *c)
{
	if (c->tls) {
		/* TLS plaintext: answers carry CK/IK (a plain conn's bytes were on
		 * the wire as they are) */
		if (c->rx) {
			akv_wipe(c->rx, AKV_CONN_RX_MAX);
			akv_wipe(c->tx[0], AKV_CONN_TX_CAP);
			akv_wipe(c->tx[1], AKV_CONN_TX_CAP);
		}
		akv_tls_conn_free(c->tls);
		c->tls = NULL;
	}
	akv_free(c->rx);
	akv_free(c->tx[0]);
	akv_free(c->tx[1]);
	c->rx = c->tx[0] = c->tx[1] = NULL;
	c->rx_off = c->rx_len = c->tx_len = 0;
}

/* see conn.h */
int
akv_conn_rx_append(struct akv_conn *c, const uint8_t *p, size_t n)
{
	if (c->rx_len + n > AKV_CONN_RX_MAX)
		return AKV_ETOOBIG;
	if (c->rx_off + c->rx_len + n > AKV_CONN_RX_MAX) {
		memmove(c->rx, c->rx + c->rx_off, c->rx_len);
		c->rx_off = 0;
	}
	memcpy(c->rx + c->rx_off + c->rx_len, p, n);
	c->rx_len += (uint32_t)n;
	return 0;
}

/* see conn.h */
void
akv_conn_rx_consume(struct akv_conn *c, size_t n)
{
	AKV_ASSERT(n <= c->rx_len);
	c->rx_len -= (uint32_t)n;
	c->rx_off = c->rx_len ? c->rx_off + (uint32_t)n : 0;
}
