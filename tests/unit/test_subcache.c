/* The engine's subscriber cache (aka/subcache.h): lookups by IMPI through
 * the keyed bucket hash, IMPU fingerprints of every length (the hash's
 * full-word, tail-word and short-tail paths), per-cache keys, updates and
 * removal. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "akv_crypto.h"
#include "akv_test.h"
#include "aka/subcache.h"
#include "store/store.h"

static struct akv_sub rec;

static void
rec_make(struct akv_sub *s, const char *impi, size_t impi_len, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->impi_len = (uint16_t)impi_len;
	memcpy(s->impi, impi, impi_len);
	s->schemes = AKV_STORE_SCHEMES_DEFAULT;
	s->amf[0] = 0x80;
	akv_test_fill(&seed, s->k, 16);
	akv_test_fill(&seed, s->opc, 16);
}

static void
rec_impu(struct akv_sub *s, const char *impu, size_t len)
{
	memcpy(s->impu[s->nimpu], impu, len);
	s->impu_len[s->nimpu] = (uint8_t)len;
	s->nimpu++;
}

START_TEST(t_subcache_many_impis_found_by_hash)
{
	enum { N = 20000 };
	struct akv_subcache *c = akv_subcache_new(1);
	char impi[64];
	size_t len;

	for (unsigned i = 0; i < N; i++) {
		len = (size_t)snprintf(impi, sizeof(impi), "user%u@ims.example.net", i);
		rec_make(&rec, impi, len, i);
		ck_assert_ptr_null(akv_subcache_find(c, impi, len, akv_subcache_hash(c, impi, len)));
		akv_subcache_insert(c, &rec, akv_subcache_hash(c, impi, len));
	}
	ck_assert_uint_eq(akv_subcache_count(c), N);
	for (unsigned i = 0; i < N; i++) {
		struct akv_subent *e;

		len = (size_t)snprintf(impi, sizeof(impi), "user%u@ims.example.net", i);
		e = akv_subcache_find(c, impi, len, akv_subcache_hash(c, impi, len));
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->impi_len, len);
		ck_assert_mem_eq(e->impi, impi, len);
		ck_assert_uint_eq(e->pend.head, AKV_PEND_NIL);
		ck_assert_uint_eq(e->pend.n, 0);
		/* a prefix or an extension of an IMPI is another IMPI */
		ck_assert_ptr_null(akv_subcache_find(c, impi, len - 1,
						     akv_subcache_hash(c, impi, len - 1)));
		impi[len] = 'x';
		ck_assert_ptr_null(akv_subcache_find(c, impi, len + 1,
						     akv_subcache_hash(c, impi, len + 1)));
	}
	/* remove every other one; the rest stay reachable */
	for (unsigned i = 0; i < N; i += 2) {
		len = (size_t)snprintf(impi, sizeof(impi), "user%u@ims.example.net", i);
		akv_subcache_remove(c, akv_subcache_find(c, impi, len,
							 akv_subcache_hash(c, impi, len)));
	}
	ck_assert_uint_eq(akv_subcache_count(c), N / 2);
	for (unsigned i = 0; i < N; i++) {
		len = (size_t)snprintf(impi, sizeof(impi), "user%u@ims.example.net", i);
		ck_assert((akv_subcache_find(c, impi, len, akv_subcache_hash(c, impi, len)) !=
			   NULL) == (i % 2 == 1));
	}
	akv_subcache_free(c);
}
END_TEST

/* The IMPI comparison behind a matching hash, at every length 1..255 (the
 * short path, whole words, an overlapping last word): given the stored
 * entry's own hash, an IMPI one bit off at any byte is still not found. */
START_TEST(t_subcache_find_compares_every_byte)
{
	struct akv_subcache *c = akv_subcache_new(1);
	char impi[256], probe[256];
	uint64_t seed = 5;

	for (size_t len = 1; len <= 255; len++) {
		struct akv_subent *e;
		uint32_t h;

		akv_test_fill(&seed, (uint8_t *)impi, len);
		rec_make(&rec, impi, len, len);
		h = akv_subcache_hash(c, impi, len);
		e = akv_subcache_insert(c, &rec, h);
		ck_assert_ptr_eq(akv_subcache_find(c, impi, len, h), e);
		for (size_t i = 0; i < len; i++) {
			memcpy(probe, impi, len);
			probe[i] ^= (char)(1u << (i % 8));
			ck_assert_msg(akv_subcache_find(c, probe, len, h) == NULL,
				      "len %zu byte %zu", len, i);
		}
		akv_subcache_remove(c, e);
	}
	akv_subcache_free(c);
}
END_TEST

/* Keyed: two caches hash the same IMPIs differently (fresh random keys),
 * and each spreads sequential IMPIs evenly over its buckets' hash values. */
START_TEST(t_subcache_hash_keyed_per_cache)
{
	enum { N = 4096 };
	struct akv_subcache *a = akv_subcache_new(1), *b = akv_subcache_new(1);
	unsigned same = 0, lowbits[16] = {0};
	char impi[64];

	for (unsigned i = 0; i < N; i++) {
		size_t len = (size_t)snprintf(impi, sizeof(impi), "%015u@ims.test", i);
		uint32_t ha = akv_subcache_hash(a, impi, len), hb = akv_subcache_hash(b, impi, len);

		same += ha == hb;
		lowbits[ha & 15]++;
		ck_assert_uint_eq(ha, akv_subcache_hash(a, impi, len));	/* stable */
	}
	ck_assert_uint_lt(same, 4);
	for (unsigned i = 0; i < 16; i++)	/* N / 16 = 256 each, binomial sd 15.5 */
		ck_assert_msg(lowbits[i] > 256 - 100 && lowbits[i] < 256 + 100,
			      "bucket class %u got %u of %u", i, lowbits[i], N);
	akv_subcache_free(a);
	akv_subcache_free(b);
}
END_TEST

/* IMPUs of every length 1..64 (below, at and past word boundaries): each
 * entry accepts exactly its own, not one byte changed anywhere nor one
 * byte shorter or longer. */
START_TEST(t_subcache_impu_every_length)
{
	struct akv_subcache *c = akv_subcache_new(1);
	char impu[80], probe[80];

	for (size_t n = 1; n <= 64; n++) {
		struct akv_subent *e;
		char impi[32];
		size_t il = (size_t)snprintf(impi, sizeof(impi), "len%zu@ims.test", n);

		for (size_t i = 0; i < n; i++)
			impu[i] = (char)('a' + (i * 7 + n) % 26);
		rec_make(&rec, impi, il, n);
		rec_impu(&rec, impu, n);
		e = akv_subcache_insert(c, &rec, akv_subcache_hash(c, impi, il));
		ck_assert_int_eq(akv_subcache_impu_ok(c, e, impu, n), 1);
		for (size_t i = 0; i < n; i++) {
			memcpy(probe, impu, n);
			probe[i] ^= 0x01;
			ck_assert_msg(!akv_subcache_impu_ok(c, e, probe, n),
				      "len %zu: byte %zu changed, still accepted", n, i);
		}
		ck_assert_int_eq(akv_subcache_impu_ok(c, e, impu, n - 1), 0);
		memcpy(probe, impu, n);
		probe[n] = impu[0];
		ck_assert_int_eq(akv_subcache_impu_ok(c, e, probe, n + 1), 0);
	}
	akv_subcache_free(c);
}
END_TEST

/* Several IMPUs; an update replaces them, keeps the entry in place and
 * reports key changes only when K, OPc or AMF changed. */
START_TEST(t_subcache_impus_and_update)
{
	struct akv_subcache *c = akv_subcache_new(1);
	const char *impi = "multi@ims.test";
	struct akv_subent *e;
	size_t bytes0;

	rec_make(&rec, impi, strlen(impi), 99);
	rec_impu(&rec, "sip:multi@ims.test", 18);
	rec_impu(&rec, "tel:+15551234567", 16);
	rec_impu(&rec, "sip:+15551234567@ims.test;user=phone", 36);
	bytes0 = akv_subcache_bytes(c);
	e = akv_subcache_insert(c, &rec, akv_subcache_hash(c, impi, strlen(impi)));
	ck_assert_uint_gt(akv_subcache_bytes(c), bytes0);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "sip:multi@ims.test", 18), 1);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "tel:+15551234567", 16), 1);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "sip:+15551234567@ims.test;user=phone", 36),
			 1);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "tel:+15551234568", 16), 0);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "", 0), 0);
	/* same keys, IMPUs replaced */
	rec.nimpu = 0;
	rec_impu(&rec, "sip:other@ims.test", 18);
	ck_assert_int_eq(akv_subcache_update(c, e, &rec), 0);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "sip:multi@ims.test", 18), 0);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "sip:other@ims.test", 18), 1);
	rec.k[0] ^= 1;
	ck_assert_int_eq(akv_subcache_update(c, e, &rec), 1);
	ck_assert_ptr_eq(akv_subcache_find(c, impi, strlen(impi),
					   akv_subcache_hash(c, impi, strlen(impi))), e);
	akv_subcache_remove(c, e);
	ck_assert_uint_eq(akv_subcache_count(c), 0);
	ck_assert_uint_eq(akv_subcache_bytes(c), bytes0);
	akv_subcache_free(c);
}
END_TEST

/* A cache that keeps keys holds K, OPc and K's round keys after the IMPI,
 * 16-aligned, and sees a new K or OPc; one without keys (the registrar's)
 * allocates its entries up to the IMPI only and sees only a new AMF. */
START_TEST(t_subcache_entries_with_and_without_keys)
{
	static const size_t lens[] = {1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200, 255};

	for (int keys = 0; keys <= 1; keys++) {
		struct akv_subcache *c = akv_subcache_new(keys);

		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			char impi[256];
			struct akv_aes_sched ks;
			struct akv_subent *e;
			size_t bytes0 = akv_subcache_bytes(c);
			uint32_t h;

			memset(impi, 'a' + (int)i, lens[i]);
			rec_make(&rec, impi, lens[i], 1000 + i);
			h = akv_subcache_hash(c, impi, lens[i]);
			e = akv_subcache_insert(c, &rec, h);
			ck_assert_mem_eq(e->impi, impi, lens[i]);
			ck_assert_uint_eq(akv_subcache_bytes(c) - bytes0,
					  keys ? AKV_SUBENT_SIZE_KEYS(lens[i])
					       : AKV_SUBENT_SIZE(lens[i]));
			ck_assert_uint_eq(akv_subcache_entry_bytes(c, e),
					  akv_subcache_bytes(c) - bytes0);
			if (keys) {
				struct akv_subkeys *kk = akv_subent_keys(e);

				ck_assert_uint_eq((uintptr_t)kk % 16, 0);
				ck_assert_uint_ge((uintptr_t)kk, (uintptr_t)(e->impi + lens[i]));
				ck_assert_mem_eq(kk->k, rec.k, 16);
				ck_assert_mem_eq(kk->opc, rec.opc, 16);
				akv_aes_expand(rec.k, &ks);
				ck_assert_mem_eq(&kk->ks, &ks, sizeof(ks));
			}
			/* for every IMPI length: it works out where the keys lie */
			akv_subcache_prefetch_entry(c, h, lens[i], 1);
			rec.opc[3] ^= 1;
			ck_assert_int_eq(akv_subcache_update(c, e, &rec), keys);
			if (keys)
				ck_assert_mem_eq(akv_subent_keys(e)->opc, rec.opc, 16);
			rec.amf[1] ^= 1;
			ck_assert_int_eq(akv_subcache_update(c, e, &rec), 1);
			/* not overwritten by the keys */
			ck_assert_mem_eq(e->impi, impi, lens[i]);
		}
		akv_subcache_free(c);
	}
}
END_TEST

/* An IMPU of the form "sip:" + IMPI is accepted by comparing bytes only when
 * the entry has exactly that IMPU; near misses and other IMPUs still go
 * through the fingerprints, and an update that drops it turns it off. */
START_TEST(t_subcache_impu_sip_impi)
{
	struct akv_subcache *c = akv_subcache_new(1);
	const char *impi = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
	char sip[300], near[300];
	size_t il = strlen(impi), sl;
	struct akv_subent *e;

	sl = (size_t)snprintf(sip, sizeof(sip), "sip:%s", impi);
	rec_make(&rec, impi, il, 7);
	rec_impu(&rec, "tel:+15550000001", 16);
	rec_impu(&rec, sip, sl);
	e = akv_subcache_insert(c, &rec, akv_subcache_hash(c, impi, il));
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, sip, sl), 1);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "tel:+15550000001", 16), 1);
	/* one byte off anywhere, shorter, longer, another scheme */
	for (size_t i = 0; i < sl; i++) {
		memcpy(near, sip, sl);
		near[i] ^= 0x20;
		ck_assert_msg(!akv_subcache_impu_ok(c, e, near, sl), "flip at %zu", i);
	}
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, sip, sl - 1), 0);
	memcpy(near, sip, sl);
	near[sl] = 'x';
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, near, sl + 1), 0);
	snprintf(near, sizeof(near), "sips:%s", impi);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, near, sl + 1), 0);
	/* provisioning drops the derived IMPU: it is refused again */
	rec.nimpu = 0;
	rec_impu(&rec, "tel:+15550000001", 16);
	ck_assert_int_eq(akv_subcache_update(c, e, &rec), 0);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, sip, sl), 0);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "tel:+15550000001", 16), 1);
	/* ... and adding it back, as the only IMPU, accepts it */
	rec.nimpu = 0;
	rec_impu(&rec, sip, sl);
	ck_assert_int_eq(akv_subcache_update(c, e, &rec), 0);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, sip, sl), 1);
	ck_assert_int_eq(akv_subcache_impu_ok(c, e, "tel:+15550000001", 16), 0);
	akv_subcache_remove(c, e);
	akv_subcache_free(c);
}
END_TEST

/* SipHash-1-3 against the reference implementation's values: key 0 with
 * "", "\0", "siphash" (as published by other implementations' tests), and
 * key 00..0f with messages 00 01 02 .. of lengths around the word
 * boundaries (the layout of the SipHash paper's test vectors). */
START_TEST(t_subcache_siphash13_reference)
{
	static const struct {
		size_t len;
		uint64_t h;
	} v[] = {
		{0, 0xabac0158050fc4dcull},  {1, 0xc9f49bf37d57ca93ull},
		{7, 0xd3927d989bb11140ull},  {8, 0x369095118d299a8eull},
		{9, 0x25a48eb36c063de4ull},  {15, 0xd320d86d2a519956ull},
		{16, 0xcc4fdd1a7d908b66ull}, {24, 0xf464aeb267349c8cull},
		{50, 0x7eaf49d10a52098full}, {63, 0x9d199062b7bbb3a8ull},
	};
	const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
	char m[64];

	ck_assert_uint_eq(akv_siphash13(0, 0, "", 0), 0xd1fba762150c532cull);
	ck_assert_uint_eq(akv_siphash13(0, 0, "\0", 1), 0x68a914128e01e473ull);
	ck_assert_uint_eq(akv_siphash13(0, 0, "siphash", 7), 0x8264ceeccb16bcbeull);
	for (int i = 0; i < 64; i++)
		m[i] = (char)i;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg(akv_siphash13(k0, k1, m, v[i].len) == v[i].h, "length %zu", v[i].len);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("subcache");
	TCase *tc = tcase_create("core");

	akv_crypto_init();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_subcache_siphash13_reference);
	tcase_add_test(tc, t_subcache_many_impis_found_by_hash);
	tcase_add_test(tc, t_subcache_hash_keyed_per_cache);
	tcase_add_test(tc, t_subcache_impu_every_length);
	tcase_add_test(tc, t_subcache_impus_and_update);
	tcase_add_test(tc, t_subcache_impu_sip_impi);
	tcase_add_test(tc, t_subcache_find_compares_every_byte);
	tcase_add_test(tc, t_subcache_entries_with_and_without_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}
