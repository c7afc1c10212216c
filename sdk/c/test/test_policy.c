/*
 * test_policy.c: native unit tests of the C SDK's answer checks (an answer
 * the host would reject becomes DENY), its JSON value writer, vd_parse and
 * configure, with a test policy whose decide builds the answer the
 * permission's name asks for.
 */
#include "harness.h"

static const vd_criteria *leaf(vd_str rt) { return vd_condition("R", rt, NULL); }

/* chain returns n nested nots around a leaf: n + 1 criteria levels. */
static const vd_criteria *chain(int n, vd_str rt) {
    const vd_criteria *c = leaf(rt);
    for (int i = 0; i < n; i++) c = vd_not(c);
    return c;
}

static vd_decision decide(const vd_principal *p, const vd_item *it) {
    (void)p;
    vd_str n = it->permission.name, rt = it->permission.resource_type;
    if (vd_eq(n, "cond.ok")) return vd_conditional(it, "plug", leaf(rt));
    if (vd_eq(n, "cond.nopluginid")) return vd_conditional(it, "", leaf(rt));
    if (vd_eq(n, "cond.noconditions")) return vd_conditional(it, "plug", NULL);
    if (vd_eq(n, "cond.otherrt")) {
        vd_decision d = vd_conditional(it, "plug", leaf(VD_STR("other")));
        d.resource_type = VD_STR("other");
        return d;
    }
    if (vd_eq(n, "cond.leafrt")) return vd_conditional(it, "plug", vd_all_of(leaf(rt), leaf(VD_STR("other"))));
    if (vd_eq(n, "cond.norule")) return vd_conditional(it, "plug", vd_condition("", rt, NULL));
    if (vd_eq(n, "cond.params")) return vd_conditional(it, "plug", vd_condition("R", rt, vd_int(1)));
    if (vd_eq(n, "cond.emptyallof")) return vd_conditional(it, "plug", vd_all_of_n(NULL, 0));
    if (vd_eq(n, "cond.emptyanyof")) return vd_conditional(it, "plug", vd_any_of_n(NULL, 0));
    if (vd_eq(n, "cond.depth32")) return vd_conditional(it, "plug", chain(31, rt));
    if (vd_eq(n, "cond.depth33")) return vd_conditional(it, "plug", chain(32, rt));
    if (vd_eq(n, "cond.nodes1000") || vd_eq(n, "cond.nodes1001")) {
        size_t k = vd_eq(n, "cond.nodes1000") ? 999 : 1000;
        const vd_criteria **cs = vd_alloc(k * sizeof *cs);
        for (size_t i = 0; i < k; i++) cs[i] = leaf(rt);
        return vd_conditional(it, "plug", vd_any_of_n(cs, k));
    }
    if (vd_eq(n, "allow.withplugin")) {
        vd_decision d = vd_allow(NULL);
        d.plugin_id = VD_STR("plug");
        return d;
    }
    if (vd_eq(n, "deny.withconditions")) {
        vd_decision d = vd_deny(NULL);
        d.conditions = leaf(rt);
        return d;
    }
    if (vd_eq(n, "result.invalid")) {
        vd_decision d = vd_allow(NULL);
        d.result = (vd_result)7;
        return d;
    }
    if (vd_eq(n, "values"))
        return vd_conditional(
            it, "plug",
            vd_condition("V", rt,
                         vd_object(vd_field("min", vd_int(INT64_MIN)), vd_field("max", vd_int(INT64_MAX)),
                                   vd_field("zero", vd_int(0)), vd_field("num", vd_number("-0.5e+10")),
                                   vd_field("ctl", vd_string((vd_str){"a\0\x01\x1f\x7f\"\\/<\xe2\x80\xa8", 12})),
                                   vd_field("empty", vd_object_n(NULL, 0)), vd_field("none", vd_array_n(NULL, 0)),
                                   vd_field("nil", NULL), vd_field("arr", vd_array(vd_null(), NULL, vd_bool(0))))));
    return vd_abstain();
}

/* configure accepts settings {"ok":true} and remembers the files. */
static size_t n_files;
static vd_str first_file_text;
static int configure(const vd_settings *s, vd_error *err) {
    n_files = s->n_files;
    if (n_files) first_file_text = s->files[0].text;
    const vd_value *ok = vd_get(s->value, "ok");
    if (s->value && !(ok && ok->kind == VD_BOOL && ok->boolean)) {
        *err = (vd_error){"nope", "settings need \"ok\": true"};
        return 1;
    }
    return 0;
}

const vd_policy verdict_policy = {
    .name = "test",
    .version = "1.0.0",
    .claims = (const char *const[]){"*", NULL},
    .decide = decide,
    .configure = configure,
};

#define REQ_R(name) "{\"principal\":{\"type\":\"none\"},\"items\":[{\"id\":\"0\",\"permission\":{\"type\":\"resource\"," \
    "\"name\":\"" name "\",\"resourceType\":\"t\"}}]}"
#define REQ_B(name) "{\"principal\":{\"type\":\"none\"},\"items\":[{\"id\":\"0\",\"permission\":{\"type\":\"basic\"," \
    "\"name\":\"" name "\"}}]}"
#define DENIED(why) "{\"items\":[{\"id\":\"0\",\"result\":\"DENY\",\"reason\":\"" why "\"}]}"
#define LEAF "{\"rule\":\"R\",\"resourceType\":\"t\"}"

TEST(valid_conditional_passes) {
    CHECK_EVAL(REQ_R("cond.ok"),
               "{\"items\":[{\"id\":\"0\",\"result\":\"CONDITIONAL\",\"pluginId\":\"plug\",\"resourceType\":\"t\","
               "\"conditions\":" LEAF "}]}");
    CHECK(vd_has_prefix(h_eval(REQ_R("cond.depth32")), "{\"items\":[{\"id\":\"0\",\"result\":\"CONDITIONAL\""));
    CHECK(vd_has_prefix(h_eval(REQ_R("cond.nodes1000")), "{\"items\":[{\"id\":\"0\",\"result\":\"CONDITIONAL\""));
}

/* Every answer the host would reject becomes DENY with the reason, logged. */
TEST(invalid_answers_become_deny) {
    static const struct {
        const char *in, *want;
        size_t in_len, want_len;
    } cases[] = {
#define C(in, want) {in, want, sizeof(in) - 1, sizeof(want) - 1}
        C(REQ_B("cond.ok"), DENIED("conditional needs a resource permission")),
        C(REQ_R("cond.nopluginid"), DENIED("conditional without pluginId")),
        C(REQ_R("cond.noconditions"), DENIED("a criteria node is missing")),
        C(REQ_R("cond.otherrt"), DENIED("conditional for another resource type")),
        C(REQ_R("cond.leafrt"), DENIED("a condition for another resource type")),
        C(REQ_R("cond.norule"), DENIED("a condition without rule")),
        C(REQ_R("cond.params"), DENIED("condition params that are not an object")),
        C(REQ_R("cond.emptyallof"), DENIED("an empty allOf or anyOf")),
        C(REQ_R("cond.emptyanyof"), DENIED("an empty allOf or anyOf")),
        C(REQ_R("cond.depth33"), DENIED("criteria deeper than 32")),
        C(REQ_R("cond.nodes1001"), DENIED("criteria with more than 1000 nodes")),
        C(REQ_R("allow.withplugin"), DENIED("conditional fields on a non-conditional answer")),
        C(REQ_R("deny.withconditions"), DENIED("conditional fields on a non-conditional answer")),
        C(REQ_R("result.invalid"), DENIED("invalid result")),
#undef C
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h_last_level = -1;
        vd_str out = h_eval_n(cases[i].in, cases[i].in_len);
        CHECK_BYTES(out.ptr, out.len, cases[i].want, cases[i].want_len);
        CHECK(h_last_level == VD_LOG_WARN);
        CHECK(strstr(h_last_log, "became DENY") != NULL);
    }
}

TEST(value_writer) {
    CHECK_EVAL(REQ_R("values"),
               "{\"items\":[{\"id\":\"0\",\"result\":\"CONDITIONAL\",\"pluginId\":\"plug\",\"resourceType\":\"t\","
               "\"conditions\":{\"rule\":\"V\",\"resourceType\":\"t\",\"params\":{\"min\":-9223372036854775808,"
               "\"max\":9223372036854775807,\"zero\":0,\"num\":-0.5e+10,"
               "\"ctl\":\"a\\u0000\\u0001\\u001f\x7f\\\"\\\\/<\xe2\x80\xa8\",\"empty\":{},\"none\":[],\"nil\":null,"
               "\"arr\":[null,null,false]}}}]}");
}

TEST(numbers) {
    static const char *const good[] = {"0", "-0", "1", "-1.5", "1e3", "1E+3", "1e-3", "0.0", "123456789012345678901234567890"};
    static const char *const bad[] = {"", "01", "1.", ".5", "-", "+1", "1e", "1e+", "0x1", "1 ", " 1", "NaN", "--1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const vd_value *v = vd_number(good[i]);
        CHECK(v && v->kind == VD_NUMBER && vd_eq(v->str, good[i]));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(vd_number(bad[i]) == NULL);
}

TEST(parse_values) {
    const char text[] = " {\"a\":[1,-2.5e3,true,false,null,\"x\\u0000y\",{}],\"k\":1,\"k\":2} ";
    const vd_value *v = vd_parse(text, sizeof text - 1);
    CHECK(v && v->kind == VD_OBJECT && v->len == 3);
    const vd_value *a = vd_get(v, "a");
    CHECK(a && a->kind == VD_ARRAY && a->len == 7);
    if (a && a->len == 7) {
        CHECK(a->items[0]->kind == VD_NUMBER && vd_eq(a->items[0]->str, "1"));
        CHECK(a->items[1]->kind == VD_NUMBER && vd_eq(a->items[1]->str, "-2.5e3"));
        CHECK(a->items[2]->kind == VD_BOOL && a->items[2]->boolean);
        CHECK(a->items[3]->kind == VD_BOOL && !a->items[3]->boolean);
        CHECK(a->items[4]->kind == VD_NULL);
        CHECK(a->items[5]->kind == VD_STRING && vd_str_eq(a->items[5]->str, (vd_str){"x\0y", 3}));
        CHECK(a->items[6]->kind == VD_OBJECT && a->items[6]->len == 0);
    }
    const vd_value *k = vd_get(v, "k");
    CHECK(k && vd_eq(k->str, "2"));
    CHECK(vd_get(v, "missing") == NULL);
    CHECK(vd_get(a, "a") == NULL);
    CHECK(vd_parse("1 2", 3) == NULL);
    CHECK(vd_parse("", 0) == NULL);
    CHECK(vd_parse("\"abc", 4) == NULL);
    /* The length bounds the text: what follows is not read. */
    CHECK(vd_parse("[1]]", 3) != NULL);
}

TEST(configure_with_settings_and_files) {
    CHECK_STR(h_conf("{\"settings\":{\"ok\":true},\"files\":{\"a.yaml\":\"x: \\u00e9\\n\"}}"), "{\"ok\":true}");
    CHECK(n_files == 1);
    CHECK_STR(first_file_text, "x: \xc3\xa9\n");
    /* What configure got lives on after the next calls (persistent arena). */
    h_eval(REQ_R("values"));
    h_eval(REQ_R("cond.nodes1000"));
    CHECK_STR(first_file_text, "x: \xc3\xa9\n");
    CHECK_STR(h_conf("{\"settings\":{\"ok\":false}}"),
              "{\"error\":{\"code\":\"nope\",\"message\":\"settings need \\\"ok\\\": true\"}}");
    CHECK_STR(h_conf("{}"), "{\"ok\":true}");
}

TEST(alloc_limits) {
    CHECK(verdict_alloc((256u << 20) + 1) == NULL);
    void *p = verdict_alloc(0);
    CHECK(p != NULL);
    verdict_free(p, 0);
}

int main(void) {
    RUN(valid_conditional_passes);
    RUN(invalid_answers_become_deny);
    RUN(value_writer);
    RUN(numbers);
    RUN(parse_values);
    RUN(configure_with_settings_and_files);
    RUN(alloc_limits);
    DONE();
}
