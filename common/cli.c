/* cli.c: command-line options from a table, on getopt_long.
 *
 * Every program describes its options in a struct cli_opt table (see common.h). From
 * it this file builds the getopt_long table and the --help text, parses and range-checks
 * each value, and turns every mistake into one line that names the option and what it
 * accepts, followed by the usage and exit status 2. The usage lines have a fixed shape
 * ("  --name N  help; MIN..MAX (default D)") that tests/smoke.c reads back to try bad
 * values on every option of every program.
 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

extern char *program_invocation_short_name;

enum { MAX_OPTS = 40, OPT_HELP = 1, OPT_QUICK, OPT_DATA, OPT_FIRST = 256 };

/* what cli_error needs to print the usage again */
static const char *g_about;
static const struct cli_opt *g_opts;
static bool g_measures;
static char g_defaults[MAX_OPTS][64]; /* each option's default, as text, before parsing */

int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0')
        return -1;
    if (errno == ERANGE)
        return -2; /* a number, but beyond what a long holds */
    *out = v;
    return 0;
}

int parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int parse_duration(const char *s, int64_t *out_ns)
{
    static const struct { const char *unit; double ns; } units[] = {
        { "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
    };
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || errno == ERANGE)
        return -1;
    if (v == 0 && *end == '\0') { /* zero needs no unit */
        *out_ns = 0;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            double ns = v * units[i].ns;
            if (fabs(ns) > 9e18) /* beyond int64_t */
                return -2;
            *out_ns = (int64_t)llround(ns);
            return 0;
        }
    }
    return -1; /* no unit, or an unknown one */
}

const char *format_duration(int64_t ns, char *buf, size_t len)
{
    int64_t a = ns < 0 ? -ns : ns;
    if (a >= NS_PER_S)
        snprintf(buf, len, "%gs", (double)ns / 1e9);
    else if (a >= NS_PER_MS)
        snprintf(buf, len, "%gms", (double)ns / 1e6);
    else if (a >= NS_PER_US)
        snprintf(buf, len, "%gµs", (double)ns / 1e3);
    else
        snprintf(buf, len, "%" PRId64 "ns", ns);
    return buf;
}

static const char *metavar(const struct cli_opt *o)
{
    switch (o->kind) {
    case CLI_INT: return "N";
    case CLI_DURATION: return "TIME";
    case CLI_REAL: return "X";
    case CLI_CHOICE: return o->choices;
    case CLI_STRING: return "STR";
    case CLI_FLAG: break;
    }
    return "";
}

/* "1..100000", "0ns..10s", "0.01..1" */
static const char *range_text(const struct cli_opt *o, char *buf, size_t len)
{
    char lo[32], hi[32];
    switch (o->kind) {
    case CLI_INT:
        snprintf(buf, len, "%.0f..%.0f", o->min, o->max);
        break;
    case CLI_DURATION:
        snprintf(buf, len, "%s..%s", format_duration((int64_t)o->min, lo, sizeof lo),
                 format_duration((int64_t)o->max, hi, sizeof hi));
        break;
    case CLI_REAL:
        snprintf(buf, len, "%g..%g", o->min, o->max);
        break;
    case CLI_CHOICE:
        snprintf(buf, len, "one of %s", o->choices);
        break;
    default:
        snprintf(buf, len, "any");
    }
    return buf;
}

/* the n-th name in "a|b|c", copied into buf */
static const char *choice_name(const char *choices, int n, char *buf, size_t len)
{
    const char *p = choices;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    if (!p)
        return "?";
    size_t k = strcspn(p, "|");
    snprintf(buf, len, "%.*s", (int)(k < len ? k : len - 1), p);
    return buf;
}

static const char *value_text(const struct cli_opt *o, char *buf, size_t len)
{
    switch (o->kind) {
    case CLI_INT: snprintf(buf, len, "%ld", *(long *)o->var); break;
    case CLI_DURATION: format_duration(*(int64_t *)o->var, buf, len); break;
    case CLI_REAL: snprintf(buf, len, "%g", *(double *)o->var); break;
    case CLI_CHOICE: choice_name(o->choices, *(int *)o->var, buf, len); break;
    case CLI_STRING: snprintf(buf, len, "%s", *(const char **)o->var ? *(const char **)o->var : "none"); break;
    case CLI_FLAG: snprintf(buf, len, "off"); break;
    }
    return buf;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: %s [options]\n%s\n\noptions:\n", program_invocation_short_name, g_about);
    for (const struct cli_opt *o = g_opts; o && o->name; o++) {
        char left[64], range[64];
        snprintf(left, sizeof left, "--%s %s", o->name, metavar(o));
        fprintf(out, "  %-20s %s", left, o->help);
        if (o->kind == CLI_INT || o->kind == CLI_DURATION || o->kind == CLI_REAL)
            fprintf(out, "; %s", range_text(o, range, sizeof range));
        if (o->kind != CLI_FLAG) {
            fprintf(out, " (default %s", g_defaults[o - g_opts]);
            if (o->quick)
                fprintf(out, ", --quick %s", o->quick);
            fputc(')', out);
        }
        fputc('\n', out);
    }
    fprintf(out, "  %-20s %s\n", "--quick", "a small, fast run (what the tests use)");
    if (g_measures)
        fprintf(out, "  %-20s %s\n", "--data FILE", "also write the results to FILE for gnuplot");
    fprintf(out, "  %-20s %s\n", "--help", "print this help and exit");
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", program_invocation_short_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(stderr);
    exit(2);
}

/* Parse `s` into option o's variable, or stop with a message naming the option. */
static void set_value(const struct cli_opt *o, const char *s)
{
    char range[64];
    range_text(o, range, sizeof range);
    switch (o->kind) {
    case CLI_FLAG:
        *(bool *)o->var = true;
        return;
    case CLI_STRING:
        *(const char **)o->var = s;
        return;
    case CLI_CHOICE: {
        char name[64];
        for (int i = 0; strcmp(choice_name(o->choices, i, name, sizeof name), "?") != 0; i++) {
            if (strcmp(name, s) == 0) {
                *(int *)o->var = i;
                return;
            }
        }
        cli_error("--%s: '%s' is not %s", o->name, s, range);
    }
    case CLI_INT: {
        long v;
        int rc = parse_long(s, &v);
        if (rc == -1)
            cli_error("--%s: '%s' is not a whole number (accepted: %s)", o->name, s, range);
        if (rc == -2 || (double)v < o->min || (double)v > o->max)
            cli_error("--%s: %s is out of range (accepted: %s)", o->name, s, range);
        *(long *)o->var = v;
        return;
    }
    case CLI_DURATION: {
        int64_t v;
        int rc = parse_duration(s, &v);
        if (rc == -1)
            cli_error("--%s: '%s' is not a duration such as 20ms or 1.5s (accepted: %s)",
                      o->name, s, range);
        if (rc == -2 || (double)v < o->min || (double)v > o->max)
            cli_error("--%s: %s is out of range (accepted: %s)", o->name, s, range);
        *(int64_t *)o->var = v;
        return;
    }
    case CLI_REAL: {
        double v;
        if (parse_real(s, &v) == -1)
            cli_error("--%s: '%s' is not a number (accepted: %s)", o->name, s, range);
        if (v < o->min || v > o->max)
            cli_error("--%s: %s is out of range (accepted: %s)", o->name, s, range);
        *(double *)o->var = v;
        return;
    }
    }
}

/* An unknown short option (the workbook's programs have none): getopt_long gives the
 * letter in optopt, and in a cluster such as -ab it stops at the first letter without
 * moving optind past the word. So the word is argv[optind - 1] if it is just "-a",
 * else argv[optind], the cluster being read. (Neither optind - 1, which may be an
 * earlier option such as --quick, nor "takes no value" describes it.) */
static noreturn void unknown_short(int letter, int argc, char **argv)
{
    const char *prev = argv[optind - 1];
    if (prev[0] == '-' && prev[1] == letter && prev[2] == '\0')
        cli_error("unknown option '-%c'", letter);
    if (optind < argc && argv[optind][0] == '-' && argv[optind][1] == letter)
        cli_error("unknown option '-%c' (in '%s')", letter, argv[optind]);
    cli_error("unknown option '-%c'", letter);
}

void cli_parse(int argc, char **argv, const char *about, const struct cli_opt *opts,
               struct cli *cli)
{
    static const struct cli_opt none[] = { { 0 } };
    struct option longopts[MAX_OPTS + 4];
    bool given[MAX_OPTS] = { false };
    size_t n = 0;

    g_about = about;
    g_opts = opts ? opts : none;
    g_measures = cli->measures;
    for (const struct cli_opt *o = g_opts; o->name; o++, n++) {
        if (n == MAX_OPTS)
            fatal("cli_parse: more than %d options", MAX_OPTS);
        longopts[n] = (struct option){ o->name, o->kind == CLI_FLAG ? no_argument : required_argument,
                                       NULL, OPT_FIRST + (int)n };
        value_text(o, g_defaults[n], sizeof g_defaults[n]); /* before any value is parsed */
    }
    size_t k = n;
    longopts[k++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
    longopts[k++] = (struct option){ "quick", no_argument, NULL, OPT_QUICK };
    if (cli->measures)
        longopts[k++] = (struct option){ "data", required_argument, NULL, OPT_DATA };
    longopts[k] = (struct option){ 0 };

    cli->quick = false;
    cli->data = NULL;
    opterr = 0; /* our own messages, not getopt's */
    int c;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == OPT_HELP) {
            usage(stdout);
            exit(0);
        } else if (c == OPT_QUICK) {
            cli->quick = true;
        } else if (c == OPT_DATA) {
            cli->data = optarg;
        } else if (c >= OPT_FIRST) {
            set_value(&g_opts[c - OPT_FIRST], optarg);
            given[c - OPT_FIRST] = true;
        } else if (c == ':') {
            if (optopt >= OPT_FIRST) {
                const struct cli_opt *o = &g_opts[optopt - OPT_FIRST];
                char range[64];
                cli_error("--%s needs a value (%s: %s)", o->name, metavar(o),
                          range_text(o, range, sizeof range));
            }
            cli_error("%s needs a value", argv[optind - 1]);
        } else if (optopt >= OPT_FIRST || (optopt >= OPT_HELP && optopt <= OPT_DATA)) {
            cli_error("%s takes no value", argv[optind - 1]); /* --fixed=yes */
        } else if (optopt != 0) {
            unknown_short(optopt, argc, argv);
        } else {
            cli_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        cli_error("unexpected argument '%s' (this program takes options only)", argv[optind]);
    if (cli->quick) {
        for (size_t i = 0; i < n; i++)
            if (!given[i] && g_opts[i].quick)
                set_value(&g_opts[i], g_opts[i].quick);
    }
}
