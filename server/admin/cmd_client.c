/*
 * `akavs client`: talks AVS/1 to a running server (docs/PROTOCOL.md) through
 * the client library. Exit status: 0 success, 1 the server answered with an
 * error or a VERIFY verdict other than OK, 2 usage, 3 connection/transport.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "clock.h"
#include "cmds.h"
#include "err.h"

#define EXIT_ANSWER 1
#define EXIT_USAGE 2
#define EXIT_TRANSPORT 3

struct opts {
	const char *connect;
	int timeout_ms;
	int json;
	const char *op;
	const char *impi;
	const char *impu;
	int n;
	int scheme;
	int ind;
	const char *www; /* realm, "" = the IMPI's domain, NULL = no WWW */
	int no_keys;
	const char *rand_hex, *res_hex, *auts_hex;
	const char *digest;
	const char *method;
	const char *data;
	struct akv_client_tls tls; /* tls.ca set: connect over TLS */
};

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: akavs client [--connect HOST:PORT] [--timeout MS] [--json] COMMAND ...\n"
	    "\n"
	    "commands:\n"
	    "  ping [--data TEXT]                         round trip to the server\n"
	    "  stats                                      server counters\n"
	    "  challenge IMPI [--impu U] [--n N] [--scheme any|akav1|akav2] [--ind I]\n"
	    "            [--www REALM] [--no-keys]        RAND/AUTN/CK/IK (+ WWW-Authenticate)\n"
	    "  verify IMPI --rand HEX --res HEX           verdict for the UE's RES\n"
	    "  verify IMPI --digest 'username=\"..\",realm=..,nonce=..,uri=..,response=..,\n"
	    "            qop=auth,nc=..,cnonce=..' [--method REGISTER]\n"
	    "  resync IMPI --rand HEX --auts HEX [--n N] [--scheme S] [--www REALM]\n"
	    "  vectors IMPI [--n N] [--impu U] [--scheme S]  full quintets incl. XRES\n"
	    "\n"
	    "TLS (docs/TLS.md): --tls-ca FILE verifies the server's certificate (name or\n"
	    "IP of --connect, or --tls-server-name NAME); --tls-cert FILE --tls-key FILE\n"
	    "present a client certificate.\n"
	    "\n"
	    "--connect defaults to 127.0.0.1:%d, --timeout to %d ms. --www '' takes the\n"
	    "realm from the IMPI's domain. Exit status: 0 success, 1 error answer or\n"
	    "verdict FAIL/DEREGISTER, 2 usage, 3 connection or protocol failure.\n",
	    AKV_AVS1_PORT, AKV_CLIENT_TIMEOUT_MS);
}

static int
parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int
parse_scheme(const char *s)
{
	if (!strcmp(s, "any"))
		return AKV_SCHEME_ANY;
	if (!strcasecmp(s, "akav1") || !strcasecmp(s, "AKAv1-MD5"))
		return AKV_SCHEME_AKAV1_MD5;
	if (!strcasecmp(s, "akav2") || !strcasecmp(s, "AKAv2-MD5"))
		return AKV_SCHEME_AKAV2_MD5;
	return -1;
}

static const char *
scheme_name(unsigned s)
{
	return s == AKV_SCHEME_AKAV2_MD5   ? "AKAv2-MD5"
	       : s == AKV_SCHEME_AKAV1_MD5 ? "AKAv1-MD5"
					   : "any";
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		O_CONNECT = 256,
		O_TIMEOUT,
		O_JSON,
		O_IMPU,
		O_N,
		O_SCHEME,
		O_IND,
		O_WWW,
		O_NOKEYS,
		O_RAND,
		O_RES,
		O_AUTS,
		O_DIGEST,
		O_METHOD,
		O_DATA,
		O_TLS_CA,
		O_TLS_CERT,
		O_TLS_KEY,
		O_TLS_NAME,
		O_HELP
	};
	static const struct option lo[] = {
	    {"connect", required_argument, NULL, O_CONNECT},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"json", no_argument, NULL, O_JSON},
	    {"impu", required_argument, NULL, O_IMPU},
	    {"n", required_argument, NULL, O_N},
	    {"scheme", required_argument, NULL, O_SCHEME},
	    {"ind", required_argument, NULL, O_IND},
	    {"www", required_argument, NULL, O_WWW},
	    {"no-keys", no_argument, NULL, O_NOKEYS},
	    {"rand", required_argument, NULL, O_RAND},
	    {"res", required_argument, NULL, O_RES},
	    {"auts", required_argument, NULL, O_AUTS},
	    {"digest", required_argument, NULL, O_DIGEST},
	    {"method", required_argument, NULL, O_METHOD},
	    {"data", required_argument, NULL, O_DATA},
	    {"tls-ca", required_argument, NULL, O_TLS_CA},
	    {"tls-cert", required_argument, NULL, O_TLS_CERT},
	    {"tls-key", required_argument, NULL, O_TLS_KEY},
	    {"tls-server-name", required_argument, NULL, O_TLS_NAME},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->connect = "127.0.0.1:7430";
	o->timeout_ms = AKV_CLIENT_TIMEOUT_MS;
	o->n = 1;
	o->ind = AKV_AVS1_IND_NONE;
	o->method = "REGISTER";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_CONNECT:
			o->connect = optarg;
			break;
		case O_TIMEOUT:
			if (parse_int(optarg, 1, 3600000, &o->timeout_ms))
				goto bad_value;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_IMPU:
			o->impu = optarg;
			break;
		case O_N:
			if (parse_int(optarg, 1, AKV_VEC_MAX, &o->n))
				goto bad_value;
			break;
		case O_SCHEME:
			o->scheme = parse_scheme(optarg);
			if (o->scheme < 0)
				goto bad_value;
			break;
		case O_IND:
			if (parse_int(optarg, 0, 254, &o->ind))
				goto bad_value;
			break;
		case O_WWW:
			o->www = optarg;
			break;
		case O_NOKEYS:
			o->no_keys = 1;
			break;
		case O_RAND:
			o->rand_hex = optarg;
			break;
		case O_RES:
			o->res_hex = optarg;
			break;
		case O_AUTS:
			o->auts_hex = optarg;
			break;
		case O_DIGEST:
			o->digest = optarg;
			break;
		case O_METHOD:
			o->method = optarg;
			break;
		case O_DATA:
			o->data = optarg;
			break;
		case O_TLS_CA:
			o->tls.ca = optarg;
			break;
		case O_TLS_CERT:
			o->tls.cert = optarg;
			break;
		case O_TLS_KEY:
			o->tls.key = optarg;
			break;
		case O_TLS_NAME:
			o->tls.server_name = optarg;
			break;
		case O_HELP:
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "akavs client: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "akavs client: missing command\n");
		return -1;
	}
	if (!o->tls.ca && (o->tls.cert || o->tls.key || o->tls.server_name)) {
		fprintf(stderr, "akavs client: --tls-cert/--tls-key/--tls-server-name need "
				"--tls-ca (the server's certificate is always verified)\n");
		return -1;
	}
	if (!o->tls.cert != !o->tls.key) {
		fprintf(stderr, "akavs client: --tls-cert and --tls-key go together\n");
		return -1;
	}
	o->op = argv[optind++];
	if (optind < argc)
		o->impi = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "akavs client: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
bad_value:
	fprintf(stderr, "akavs client: bad value '%s' for %s\n", optarg, argv[optind - 1]);
	return -1;
}

/* ==== Digest parameter parsing (RFC 2617 §3.2.2 auth-param list) ==== */

struct digest_parse {
	char buf[2048]; /* unquoted values */
	size_t used;
	struct akv_str f[AKV_DIG_NFIELDS];
	int alg;
};

static int
dig_field(const char *name, size_t n)
{
	static const char *const names[AKV_DIG_NFIELDS] = {
	    [AKV_DIG_USERNAME] = "username",
	    [AKV_DIG_REALM] = "realm",
	    [AKV_DIG_NONCE] = "nonce",
	    [AKV_DIG_URI] = "uri",
	    [AKV_DIG_METHOD] = "method",
	    [AKV_DIG_QOP] = "qop",
	    [AKV_DIG_NC] = "nc",
	    [AKV_DIG_CNONCE] = "cnonce",
	    [AKV_DIG_RESPONSE] = "response",
	};

	for (int i = 0; i < AKV_DIG_NFIELDS; i++)
		if (strlen(names[i]) == n && !strncasecmp(names[i], name, n))
			return i;
	return -1;
}

static int
parse_digest(const char *s, struct digest_parse *d)
{
	memset(d, 0, sizeof(*d));
	d->alg = AKV_DIGEST_AKAV1_MD5;
	if (!strncasecmp(s, "Digest ", 7))
		s += 7;
	while (*s) {
		const char *name;
		size_t nl;
		char *val = d->buf + d->used;
		size_t vl = 0;
		int idx;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (!*s)
			break;
		name = s;
		while (*s && *s != '=' && *s != ',' && *s != ' ')
			s++;
		nl = (size_t)(s - name);
		while (*s == ' ')
			s++;
		if (*s != '=' || nl == 0)
			return -1;
		s++;
		while (*s == ' ')
			s++;
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1])
					s++;
				if (d->used + vl >= sizeof(d->buf))
					return -1;
				val[vl++] = *s;
			}
			if (*s != '"')
				return -1;
			s++;
		} else {
			while (*s && *s != ',' && *s != ' ') {
				if (d->used + vl >= sizeof(d->buf))
					return -1;
				val[vl++] = *s++;
			}
		}
		if (nl == 9 && !strncasecmp(name, "algorithm", 9)) {
			if (vl == 9 && !strncasecmp(val, "AKAv2-MD5", 9))
				d->alg = AKV_DIGEST_AKAV2_MD5;
			else if (!(vl == 9 && !strncasecmp(val, "AKAv1-MD5", 9)))
				return -1;
			continue;
		}
		idx = dig_field(name, nl);
		if (idx < 0)
			continue; /* opaque, auts, ...: not part of the response */
		d->f[idx].p = val;
		d->f[idx].n = vl;
		d->used += vl;
	}
	return 0;
}

/* ==== Output ==== */

static void
json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	akv_hex_encode(p, n, out);
}

static void
print_vectors(const struct opts *o, const struct akv_avs1_ans *a)
{
	char h[5][33];

	if (o->json)
		printf("{\"id\":%llu,\"op\":\"%s\",\"scheme\":\"%s\",\"vectors\":[",
		       (unsigned long long)a->id, akv_avs1_op_name(a->op), scheme_name(a->scheme));
	else
		printf("scheme: %s\n", scheme_name(a->scheme));
	for (unsigned i = 0; i < a->nvec; i++) {
		const struct akv_eng_vec *v = &a->vec[i];

		hex(v->rand, 16, h[0]);
		hex(v->autn, 16, h[1]);
		hex(v->ck, 16, h[2]);
		hex(v->ik, 16, h[3]);
		hex(v->xres, v->xres_len, h[4]);
		if (o->json) {
			printf("%s{\"rand\":\"%s\",\"autn\":\"%s\",", i ? "," : "", h[0], h[1]);
			if (a->op == AKV_AVS1_VECTORS)
				printf("\"xres\":\"%s\",", h[4]);
			printf("\"ck\":\"%s\",\"ik\":\"%s\"", h[2], h[3]);
			if (a->flags & AKV_AVS1_F_WWW) {
				printf(",\"www_authenticate\":");
				json_str(a->www[i], a->www_len[i]);
			}
			putchar('}');
		} else {
			printf("vector %u:\n  rand %s\n  autn %s\n", i + 1, h[0], h[1]);
			if (a->op == AKV_AVS1_VECTORS)
				printf("  xres %s\n", h[4]);
			printf("  ck   %s\n  ik   %s\n", h[2], h[3]);
			if (a->flags & AKV_AVS1_F_WWW)
				printf("  www-authenticate: %.*s\n", (int)a->www_len[i], a->www[i]);
		}
	}
	if (o->json)
		printf("]}\n");
}

static int
print_answer(const struct opts *o, const struct akv_avs1_ans *a, uint64_t rtt_us)
{
	static const char *const verdicts[] = {"OK", "FAIL", "DEREGISTER"};
	char ck[33], ik[33];

	if (a->flags & AKV_AVS1_F_ERROR) {
		if (o->json) {
			printf("{\"id\":%llu,\"op\":\"%s\",\"error\":{\"code\":%d,\"text\":",
			       (unsigned long long)a->id, akv_avs1_op_name(a->op), -a->err);
			json_str(a->text, a->text_len);
			printf("}}\n");
		} else {
			fprintf(stderr, "akavs client: %s: error %d: %.*s\n",
				akv_avs1_op_name(a->op), -a->err, (int)a->text_len, a->text);
		}
		return EXIT_ANSWER;
	}
	switch (a->op) {
	case AKV_AVS1_CHALLENGE:
	case AKV_AVS1_RESYNC:
	case AKV_AVS1_VECTORS:
		print_vectors(o, a);
		return 0;
	case AKV_AVS1_VERIFY:
		hex(a->ck, 16, ck);
		hex(a->ik, 16, ik);
		if (o->json) {
			printf("{\"id\":%llu,\"op\":\"VERIFY\",\"verdict\":\"%s\",\"attempts_"
			       "left\":%u",
			       (unsigned long long)a->id, verdicts[a->verdict], a->attempts_left);
			if (a->verdict == AKV_VERDICT_OK)
				printf(",\"ck\":\"%s\",\"ik\":\"%s\"", ck, ik);
			printf("}\n");
		} else if (a->verdict == AKV_VERDICT_OK) {
			printf("OK\n  ck %s\n  ik %s\n", ck, ik);
		} else {
			printf("%s (attempts left: %u)\n", verdicts[a->verdict], a->attempts_left);
		}
		return a->verdict == AKV_VERDICT_OK ? 0 : EXIT_ANSWER;
	case AKV_AVS1_PING:
		if (o->json)
			printf("{\"id\":%llu,\"op\":\"PING\",\"rtt_us\":%llu,\"bytes\":%zu}\n",
			       (unsigned long long)a->id, (unsigned long long)rtt_us, a->data_len);
		else
			printf("PONG from %s: %zu bytes in %llu us\n", o->connect, a->data_len,
			       (unsigned long long)rtt_us);
		return 0;
	default: {
		size_t pos = 0, kl;
		const char *k;
		uint64_t v;
		int first = 1;

		if (o->json)
			printf("{\"id\":%llu,\"op\":\"STATS\",\"stats\":{",
			       (unsigned long long)a->id);
		while (akv_avs1_stats_next(a, &pos, &k, &kl, &v)) {
			if (o->json)
				printf("%s\"%.*s\":%llu", first ? "" : ",", (int)kl, k,
				       (unsigned long long)v);
			else
				printf("%-32.*s %llu\n", (int)kl, k, (unsigned long long)v);
			first = 0;
		}
		if (o->json)
			printf("}}\n");
		return 0;
	}
	}
}

/* ==== Building the request ==== */

static int
need_hex(const char *what, const char *s, uint8_t *out, size_t n, int var)
{
	size_t len = s ? strlen(s) : 0;

	if (!s) {
		fprintf(stderr, "akavs client: --%s HEX is required\n", what);
		return -1;
	}
	if (var && len % 2 == 0 && len >= 8 && len <= 32)
		n = len / 2;
	if (akv_hex_decode(s, len, out, n)) {
		fprintf(stderr, "akavs client: --%s must be %s hex digits\n", what,
			var	  ? "8..32"
			: n == 16 ? "32"
				  : "28");
		return -1;
	}
	return (int)n;
}

static int
build_request(const struct opts *o, struct akv_avs1_req *r, struct digest_parse *dp)
{
	static const struct {
		const char *name;
		uint8_t op;
	} ops[] = {
	    {"challenge", AKV_AVS1_CHALLENGE}, {"verify", AKV_AVS1_VERIFY},
	    {"resync", AKV_AVS1_RESYNC},       {"vectors", AKV_AVS1_VECTORS},
	    {"ping", AKV_AVS1_PING},	       {"stats", AKV_AVS1_STATS},
	};
	int n;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(o->op, ops[i].name))
			r->op = ops[i].op;
	if (!r->op) {
		fprintf(stderr, "akavs client: unknown command '%s'\n", o->op);
		return -1;
	}
	if (r->op == AKV_AVS1_PING || r->op == AKV_AVS1_STATS) {
		if (o->impi) {
			fprintf(stderr, "akavs client: %s takes no IMPI\n", o->op);
			return -1;
		}
		if (o->data) {
			r->data = (const uint8_t *)o->data;
			r->data_len = strlen(o->data);
		}
		return 0;
	}
	if (!o->impi || !*o->impi) {
		fprintf(stderr, "akavs client: %s needs an IMPI\n", o->op);
		return -1;
	}
	r->impi = o->impi;
	r->impi_len = strlen(o->impi);
	if (r->op == AKV_AVS1_VERIFY) {
		if (o->digest) {
			if (parse_digest(o->digest, dp)) {
				fprintf(stderr, "akavs client: cannot parse --digest\n");
				return -1;
			}
			memcpy(r->dig, dp->f, sizeof(r->dig));
			r->dig[AKV_DIG_METHOD].p = o->method;
			r->dig[AKV_DIG_METHOD].n = strlen(o->method);
			r->kind = AKV_AVS1_VERIFY_DIGEST;
			r->alg = (uint8_t)dp->alg;
			if (!r->dig[AKV_DIG_NONCE].n || !r->dig[AKV_DIG_RESPONSE].n) {
				fprintf(stderr,
					"akavs client: --digest needs nonce= and response=\n");
				return -1;
			}
			return 0;
		}
		r->kind = AKV_AVS1_VERIFY_RES;
		if (need_hex("rand", o->rand_hex, r->rand, 16, 0) < 0)
			return -1;
		n = need_hex("res", o->res_hex, r->res, 16, 1);
		if (n < 0)
			return -1;
		r->res_len = (uint8_t)n;
		return 0;
	}
	r->n = (uint8_t)o->n;
	r->scheme = (uint8_t)o->scheme;
	r->ind = (uint8_t)o->ind;
	if (o->impu) {
		r->impu = o->impu;
		r->impu_len = strlen(o->impu);
	}
	if (o->www) {
		if (r->op == AKV_AVS1_VECTORS) {
			fprintf(stderr, "akavs client: --www is for challenge and resync\n");
			return -1;
		}
		r->flags = AKV_AVS1_F_WWW | (o->no_keys ? AKV_AVS1_F_WWW_NOKEYS : 0);
		r->realm = o->www;
		r->realm_len = strlen(o->www);
	}
	if (r->op == AKV_AVS1_RESYNC && (need_hex("rand", o->rand_hex, r->rand, 16, 0) < 0 ||
					 need_hex("auts", o->auts_hex, r->auts, 14, 0) < 0))
		return -1;
	return 0;
}

static uint64_t
now_us(void)
{
	return akv_mono_ns() / 1000;
}

int
akv_cmd_client(int argc, char **argv)
{
	static struct akv_avs1_ans a;
	static struct digest_parse dp;
	struct akv_avs1_req r;
	struct akv_client *c;
	struct opts o;
	uint64_t t0;
	int rc;

	if (parse_args(argc, argv, &o) || build_request(&o, &r, &dp)) {
		fprintf(stderr, "(akavs client --help for usage)\n");
		return EXIT_USAGE;
	}
	if (o.tls.ca) {
		char why[AKV_CLIENT_WHY_MAX];

		rc = akv_client_connect_tls(&c, o.connect, o.timeout_ms, &o.tls, why, sizeof(why));
		if (rc) {
			fprintf(stderr, "akavs client: cannot connect to %s over TLS: %s\n",
				o.connect, why[0] ? why : akv_strerror(rc));
			return rc == AKV_EINVAL ? EXIT_USAGE : EXIT_TRANSPORT;
		}
	} else {
		rc = akv_client_connect(&c, o.connect, o.timeout_ms);
	}
	if (rc) {
		fprintf(stderr, "akavs client: cannot connect to %s: %s\n", o.connect,
			rc == AKV_EINVAL ? "not HOST:PORT or [V6ADDR]:PORT" : akv_strerror(rc));
		return rc == AKV_EINVAL ? EXIT_USAGE : EXIT_TRANSPORT;
	}
	t0 = now_us();
	rc = akv_client_call(c, &r, &a);
	if (rc) {
		fprintf(stderr, "akavs client: %s to %s failed: %s%s%s\n", akv_avs1_op_name(r.op),
			o.connect, akv_strerror(rc), akv_client_tls_error(c)[0] ? ": TLS: " : "",
			akv_client_tls_error(c));
		akv_client_free(c);
		return rc == AKV_EINVAL || rc == AKV_ETOOBIG ? EXIT_USAGE : EXIT_TRANSPORT;
	}
	rc = print_answer(&o, &a, now_us() - t0);
	fflush(stdout);
	akv_client_free(c);
	return rc;
}
