/*
 * cx_pending.c - the "authentication pending" memo (cx_pending.h).
 *
 * 64 stripes, each a mutex and an open-addressed array of 16-byte slots: a
 * key's slot is searched in a window of PROBE slots from its home. Names are
 * interned once per table (a handful of S-CSCFs) so that a slot holds a
 * 2-byte index; a thread remembers the last name it interned, so a decoder
 * reading MARs from one S-CSCF takes no lock for it.
 */
#include "aka/cx_pending.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "akv_crypto.h"
#include "aka/cx.h"
#include "aka/subcache.h"
#include "err.h"
#include "mem.h"

#define STRIPES 64
#define PROBE	8

struct slot {
	uint64_t key;		/* keyed hash of the IMPI, 0 = free */
	uint32_t expires_s;	/* monotonic seconds (rounded up) it stands until */
	uint16_t name;		/* interned name index + 1 */
	uint16_t pad;
};
_Static_assert(sizeof(struct slot) == 16, "slot layout");

struct stripe {
	pthread_mutex_t mu;
	struct slot *s;
	uint64_t noted, found, evicted;
} __attribute__((aligned(64)));

struct akv_cx_pending {
	struct stripe st[STRIPES];
	size_t mask;		/* slots per stripe - 1 */
	uint64_t k0, k1;
	uint32_t ttl_s, ttl_ms;
	uint64_t id;		/* tells this table apart in the thread's name cache */
	pthread_mutex_t names_mu;
	_Atomic unsigned nnames;
	uint16_t name_len[AKV_CX_PENDING_NAMES];
	char name[AKV_CX_PENDING_NAMES][AKV_CX_NAME_MAX + 1];
	_Atomic uint64_t names_full;
	_Atomic uint64_t gen;	/* akv_cx_pending_gen() */
};

static _Atomic uint64_t next_id = 1;

/* the last name this thread interned (the S-CSCF of the MAR before) */
static _Thread_local struct {
	uint64_t id;
	uint16_t ix, len;
	char name[AKV_CX_NAME_MAX];
} last_name;

/* see cx_pending.h */
struct akv_cx_pending *
akv_cx_pending_new(size_t max, uint32_t ttl_ms)
{
	struct akv_cx_pending *p = akv_calloc_aligned(64, 1, sizeof(*p));
	size_t per = 8;
	uint64_t key[2];

	while (per * STRIPES < max)
		per <<= 1;
	if (akv_rand_bytes((uint8_t *)key, sizeof(key)))
		abort(); /* no DRBG: nothing secure can run, as for OOM */
	p->k0 = key[0];
	p->k1 = key[1];
	akv_wipe(key, sizeof(key));
	p->mask = per - 1;
	p->ttl_ms = ttl_ms;
	p->ttl_s = (ttl_ms + 999) / 1000;
	p->id = atomic_fetch_add(&next_id, 1);
	pthread_mutex_init(&p->names_mu, NULL);
	for (unsigned i = 0; i < STRIPES; i++) {
		pthread_mutex_init(&p->st[i].mu, NULL);
		p->st[i].s = akv_calloc(per, sizeof(struct slot));
	}
	return p;
}

/* see cx_pending.h */
void
akv_cx_pending_free(struct akv_cx_pending *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < STRIPES; i++) {
		pthread_mutex_destroy(&p->st[i].mu);
		akv_free(p->st[i].s);
	}
	pthread_mutex_destroy(&p->names_mu);
	akv_free(p);
}

static uint64_t
key_of(const struct akv_cx_pending *p, const char *impi, size_t len)
{
	uint64_t k = akv_siphash13(p->k0, p->k1, impi, len);

	return k ? k : 1;	/* 0 marks a free slot */
}

static uint32_t
now_s(uint64_t now_ms)
{
	return (uint32_t)(now_ms / 1000);
}

/* see cx_pending.h */
uint16_t
akv_cx_pending_intern(struct akv_cx_pending *p, const char *name, size_t len)
{
	unsigned n;
	uint16_t ix = 0;

	if (!len || len > AKV_CX_NAME_MAX)
		return 0;
	if (last_name.id == p->id && last_name.len == len && !memcmp(last_name.name, name, len))
		return last_name.ix;
	pthread_mutex_lock(&p->names_mu);
	n = atomic_load_explicit(&p->nnames, memory_order_relaxed);
	for (unsigned i = 0; i < n && !ix; i++)
		if (p->name_len[i] == len && !memcmp(p->name[i], name, len))
			ix = (uint16_t)(i + 1);
	if (!ix && n < AKV_CX_PENDING_NAMES) {
		memcpy(p->name[n], name, len);
		p->name[n][len] = '\0';
		p->name_len[n] = (uint16_t)len;
		/* published after the bytes: find() copies names unlocked */
		atomic_store_explicit(&p->nnames, n + 1, memory_order_release);
		ix = (uint16_t)(n + 1);
	}
	pthread_mutex_unlock(&p->names_mu);
	if (!ix) {
		atomic_fetch_add_explicit(&p->names_full, 1, memory_order_relaxed);
		return 0;
	}
	last_name.id = p->id;
	last_name.ix = ix;
	last_name.len = (uint16_t)len;
	memcpy(last_name.name, name, len);
	return ix;
}

/* The slot holding key in its stripe's window, or NULL. Stripe locked. */
static struct slot *
lookup(const struct akv_cx_pending *p, struct stripe *st, uint64_t key)
{
	size_t home = (size_t)(key >> 6);

	for (size_t i = 0; i < PROBE; i++) {
		struct slot *s = &st->s[(home + i) & p->mask];

		if (s->key == key)
			return s;
	}
	return NULL;
}

/* see cx_pending.h */
void
akv_cx_pending_note(struct akv_cx_pending *p, const char *impi, size_t impi_len, uint16_t name,
		    uint64_t now_ms)
{
	uint64_t key = key_of(p, impi, impi_len);
	struct stripe *st = &p->st[key & (STRIPES - 1)];
	size_t home = (size_t)(key >> 6);
	uint32_t now = now_s(now_ms), exp = now + p->ttl_s + 1;
	struct slot *s, *victim = NULL;
	uint16_t old = 0;

	if (!name || name > AKV_CX_PENDING_NAMES)
		return;
	pthread_mutex_lock(&st->mu);
	s = lookup(p, st, key);
	if (s) {
		old = s->name;
	} else {
		/* a free or expired slot, else the one expiring first */
		for (size_t i = 0; i < PROBE; i++) {
			struct slot *c = &st->s[(home + i) & p->mask];

			if (!c->key || c->expires_s <= now) {
				victim = c;
				break;
			}
			if (!victim || c->expires_s < victim->expires_s)
				victim = c;
		}
		if (victim->key && victim->expires_s > now) {
			st->evicted++;
			atomic_fetch_add_explicit(&p->gen, 1, memory_order_relaxed);
		}
		s = victim;
		s->key = key;
	}
	st->noted += old != name;
	s->name = name;
	s->expires_s = exp;
	pthread_mutex_unlock(&st->mu);
}

/* see cx_pending.h */
uint64_t
akv_cx_pending_gen(const struct akv_cx_pending *p)
{
	return atomic_load_explicit(&((struct akv_cx_pending *)p)->gen, memory_order_relaxed);
}

/* see cx_pending.h */
size_t
akv_cx_pending_find(struct akv_cx_pending *p, const char *impi, size_t impi_len,
		    uint64_t now_ms, char *out)
{
	uint64_t key = key_of(p, impi, impi_len);
	struct stripe *st = &p->st[key & (STRIPES - 1)];
	struct slot *s;
	uint16_t ix = 0;
	size_t len = 0;

	pthread_mutex_lock(&st->mu);
	s = lookup(p, st, key);
	if (s && s->expires_s > now_s(now_ms)) {
		ix = s->name;
		st->found++;
	}
	pthread_mutex_unlock(&st->mu);
	out[0] = '\0';
	if (ix && ix <= atomic_load_explicit(&p->nnames, memory_order_acquire)) {
		/* interned names never change once published */
		len = p->name_len[ix - 1];
		memcpy(out, p->name[ix - 1], len + 1);
	}
	return len;
}

/* see cx_pending.h */
void
akv_cx_pending_clear(struct akv_cx_pending *p, const char *impi, size_t impi_len, uint16_t keep)
{
	uint64_t key = key_of(p, impi, impi_len);
	struct stripe *st = &p->st[key & (STRIPES - 1)];
	struct slot *s;

	pthread_mutex_lock(&st->mu);
	if ((s = lookup(p, st, key)) && (!keep || s->name != keep)) {
		memset(s, 0, sizeof(*s));
		atomic_fetch_add_explicit(&p->gen, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&st->mu);
}

/* see cx_pending.h */
void
akv_cx_pending_stats(struct akv_cx_pending *p, struct akv_cx_pending_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < STRIPES; i++) {
		pthread_mutex_lock(&p->st[i].mu);
		out->noted += p->st[i].noted;
		out->found += p->st[i].found;
		out->evicted += p->st[i].evicted;
		pthread_mutex_unlock(&p->st[i].mu);
	}
	out->names_full = atomic_load_explicit(&p->names_full, memory_order_relaxed);
}

/* see cx_pending.h */
uint32_t
akv_cx_pending_ttl_ms(const struct akv_cx_pending *p)
{
	return p->ttl_ms;
}
