#include "akv_test.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "akv_crypto.h"

const char *
akv_test_vector_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("AKV_VECTORS_DIR");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/vectors", name);
	return path;
}

size_t
akv_test_load_hex(const char *name, uint8_t *out, size_t cap)
{
	char line[1024], digits[1024];
	size_t n = 0;
	FILE *f = fopen(akv_test_vector_path(name), "r");

	ck_assert_msg(f != NULL, "cannot open golden %s", akv_test_vector_path(name));
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		size_t nd = 0;

		if (hash)
			*hash = 0;
		for (char *p = line; *p; p++)
			if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				digits[nd++] = *p;
		ck_assert_msg(nd % 2 == 0, "odd hex digit count on a line of %s", name);
		ck_assert_msg(nd / 2 <= cap - n, "%s is longer than %zu bytes", name, cap);
		ck_assert_msg(!akv_hex_decode(digits, nd, out + n, nd / 2), "bad hex in %s", name);
		n += nd / 2;
	}
	fclose(f);
	return n;
}

uint64_t
akv_test_rand64(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void
akv_test_fill(uint64_t *state, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(akv_test_rand64(state) >> 56);
}

int
akv_test_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

const char *
akv_test_tmpdir(const char *tag)
{
	static char path[4096];
	const char *t = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/akv-%s-XXXXXX", t ? t : "/tmp", tag);
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

int
akv_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
akv_test_run_tmpdir(Suite *s, const char *tag)
{
	char base[4096];
	int rc;

	snprintf(base, sizeof(base), "%s", akv_test_tmpdir(tag));
	setenv("TMPDIR", base, 1);
	rc = akv_test_run(s);
	nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
