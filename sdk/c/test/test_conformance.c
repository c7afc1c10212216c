/*
 * test_conformance.c: native unit tests of the C SDK's JSON reader and writer
 * through the conformance policy (conformance/conformance.c), whose conf.reason
 * answer echoes every decoded string back through the writer.
 *
 *   make sdks-test     builds and runs it with AddressSanitizer and UBSan
 */
#include "harness.h"

/* A user principal and a service principal, as the host writes them. */
#define USER                                                                                       \
    "\"principal\":{\"type\":\"user\",\"userEntityRef\":\"user:default/a\",\"ownershipEntityRefs\":" \
    "[\"user:default/a\",\"group:default/g\"]}"
#define SERVICE "\"principal\":{\"type\":\"service\",\"subject\":\"plugin:catalog\"}"
/* ITEM(id, name) is a basic permission; RITEM adds a resource type. */
#define ITEM(id, name) "{\"id\":\"" id "\",\"permission\":{\"type\":\"basic\",\"name\":\"" name "\",\"attributes\":{}}}"
#define RITEM(id, name)                                                                            \
    "{\"id\":\"" id "\",\"permission\":{\"type\":\"resource\",\"name\":\"" name                    \
    "\",\"attributes\":{\"action\":\"read\"},\"resourceType\":\"t\"}}"
#define REQ(principal, items) "{\"abi\":1," principal ",\"items\":[" items "]}"

#define ECHO_USER "principal=user user=user:default/a subject=- actor=- owners=user:default/a,group:default/g"
#define BAD_INPUT(msg) "{\"error\":{\"code\":\"bad_input\",\"message\":\"" msg "\"}}"

TEST(basic_results) {
    CHECK_EVAL(REQ(USER, ITEM("0", "conf.allow") "," ITEM("1", "conf.deny") "," ITEM("2", "conf.abstain") ","
                             ITEM("3", "conf.allow.reason") "," ITEM("4", "conf.deny.reason") "," ITEM("5", "other")),
               "{\"items\":[{\"id\":\"0\",\"result\":\"ALLOW\"},{\"id\":\"1\",\"result\":\"DENY\"},"
               "{\"id\":\"2\",\"result\":\"ABSTAIN\"},"
               "{\"id\":\"3\",\"result\":\"ALLOW\",\"reason\":\"allowed by conformance policy\"},"
               "{\"id\":\"4\",\"result\":\"DENY\",\"reason\":\"denied by conformance policy\"},"
               "{\"id\":\"5\",\"result\":\"ABSTAIN\"}]}");
}

TEST(empty_batch) { CHECK_EVAL(REQ(USER, ""), "{\"items\":[]}"); }

TEST(echo_user_and_service) {
    CHECK_EVAL(REQ(USER, ITEM("0", "conf.reason")),
               "{\"items\":[{\"id\":\"0\",\"result\":\"ALLOW\",\"reason\":\"name=conf.reason type=basic action=- "
               "resourceType=- ref=- " ECHO_USER "\"}]}");
    CHECK_EVAL(REQ(SERVICE, RITEM("7", "conf.reason")),
               "{\"items\":[{\"id\":\"7\",\"result\":\"ALLOW\",\"reason\":\"name=conf.reason type=resource "
               "action=read resourceType=t ref=- principal=service user=- subject=plugin:catalog actor=- owners=\"}]}");
    CHECK_EVAL("{\"principal\":{\"type\":\"user\",\"userEntityRef\":\"user:default/a\",\"ownershipEntityRefs\":[],"
               "\"actor\":{\"type\":\"service\",\"subject\":\"plugin:x\"}},\"items\":["
               "{\"id\":\"0\",\"permission\":{\"type\":\"basic\",\"name\":\"conf.reason\"},\"resourceRef\":\"\"}]}",
               "{\"items\":[{\"id\":\"0\",\"result\":\"ALLOW\",\"reason\":\"name=conf.reason type=basic action=- "
               "resourceType=- ref= principal=user user=user:default/a subject=- actor=plugin:x owners=\"}]}");
}

/* ref(escaped) echoes a resourceRef: the reason shows how it was decoded and
 * written back. */
#define REF_REQ(ref)                                                                              \
    REQ(USER, "{\"id\":\"0\",\"permission\":{\"type\":\"basic\",\"name\":\"conf.reason\"},\"resourceRef\":\"" ref "\"}")
#define REF_OUT(ref)                                                                              \
    "{\"items\":[{\"id\":\"0\",\"result\":\"ALLOW\",\"reason\":\"name=conf.reason type=basic action=- "          \
    "resourceType=- ref=" ref " " ECHO_USER "\"}]}"

TEST(escapes) {
    /* Every short escape; the writer uses the short forms back, except \/. */
    CHECK_EVAL(REF_REQ("q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t"), REF_OUT("q\\\" b\\\\ s/ \\b\\f\\n\\r\\t"));
    /* \u escapes of control characters come back as \u00XX; DEL is raw. */
    CHECK_EVAL(REF_REQ("\\u0000\\u0001\\u001F\\u007f\\u0020"), REF_OUT("\\u0000\\u0001\\u001f\x7f "));
    /* Escaped ASCII letters, either hex case. */
    CHECK_EVAL(REF_REQ("\\u0041\\u004a\\u004A"), REF_OUT("AJJ"));
    /* The host's HTML escapes decode to the characters. */
    CHECK_EVAL(REF_REQ("a\\u003cb\\u003e\\u0026"), REF_OUT("a<b>&"));
}

TEST(unicode_and_surrogates) {
    CHECK_EVAL(REF_REQ("\\u00e9\\u00E9\xc3\xa9"), REF_OUT("\xc3\xa9\xc3\xa9\xc3\xa9"));
    CHECK_EVAL(REF_REQ("\\u2028\\u2029\\uffff"), REF_OUT("\xe2\x80\xa8\xe2\x80\xa9\xef\xbf\xbf"));
    /* A surrogate pair is one 4-byte character. */
    CHECK_EVAL(REF_REQ("\\ud83d\\ude00|\\uD83D\\uDE00|\xf0\x9f\x98\x80"),
               REF_OUT("\xf0\x9f\x98\x80|\xf0\x9f\x98\x80|\xf0\x9f\x98\x80"));
    /* Lone surrogates become U+FFFD, as encoding/json decodes them. */
    CHECK_EVAL(REF_REQ("\\ud800|\\udc00|\\udfff"), REF_OUT("\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd"));
    /* A high surrogate followed by something else keeps that something. */
    CHECK_EVAL(REF_REQ("\\ud800\\u0041|\\ud800\\ud800|\\ud800x|\\ude00\\ud83d"),
               REF_OUT("\xef\xbf\xbd" "A|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbdx|\xef\xbf\xbd\xef\xbf\xbd"));
    /* A high surrogate at the very end of the string. */
    CHECK_EVAL(REF_REQ("a\\ud83d"), REF_OUT("a\xef\xbf\xbd"));
    /* Invalid UTF-8 bytes (stray continuation, overlong, encoded surrogate,
     * past U+10FFFF, cut short) become U+FFFD, one per byte. */
    CHECK_EVAL(REF_REQ("\x80|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x9c"),
               REF_OUT("\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"));
}

#define COND_OUT(criteria)                                                                        \
    "{\"items\":[{\"id\":\"0\",\"result\":\"CONDITIONAL\",\"pluginId\":\"conf\",\"resourceType\":\"t\"," \
    "\"conditions\":" criteria "}]}"
#define OWNER "{\"rule\":\"IS_OWNER\",\"resourceType\":\"t\",\"params\":{\"claims\":[\"user:default/a\",\"group:default/g\"]}}"
#define PUBLIC "{\"rule\":\"IS_PUBLIC\",\"resourceType\":\"t\"}"
#define KIND "{\"rule\":\"IS_KIND\",\"resourceType\":\"t\",\"params\":{\"kinds\":[\"Group\",\"User\"]}}"

TEST(every_criteria_shape) {
    CHECK_EVAL(REQ(USER, RITEM("0", "conf.cond.owner")), COND_OUT(OWNER));
    CHECK_EVAL(REQ(USER, RITEM("0", "conf.cond.noparams")), COND_OUT(PUBLIC));
    CHECK_EVAL(REQ(USER, RITEM("0", "conf.cond.params")),
               COND_OUT("{\"rule\":\"HAS_VALUES\",\"resourceType\":\"t\",\"params\":{\"s\":\"text \\\"quoted\\\" "
                        "\\\\ \xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xe2\x9c\x93\",\"n\":42,\"f\":-1.5,\"t\":true,"
                        "\"no\":false,\"z\":null,\"list\":[\"a\",1,true,null]}}"));
    CHECK_EVAL(REQ(USER, RITEM("0", "conf.cond.not")), COND_OUT("{\"not\":" KIND "}"));
    CHECK_EVAL(REQ(USER, RITEM("0", "conf.cond.allof")), COND_OUT("{\"allOf\":[" OWNER "," PUBLIC "]}"));
    CHECK_EVAL(REQ(USER, RITEM("0", "conf.cond.anyof")), COND_OUT("{\"anyOf\":[" OWNER ",{\"not\":" KIND "}]}"));
    CHECK_EVAL(REQ(USER, RITEM("0", "conf.cond.nested")),
               COND_OUT("{\"anyOf\":[{\"allOf\":[" OWNER ",{\"not\":{\"anyOf\":[" KIND "," PUBLIC "]}}]},"
                        "{\"not\":{\"not\":" PUBLIC "}}]}"));
    /* The owner condition of a service (no refs) has an empty claims list. */
    CHECK_EVAL(REQ(SERVICE, RITEM("0", "conf.cond.owner")),
               COND_OUT("{\"rule\":\"IS_OWNER\",\"resourceType\":\"t\",\"params\":{\"claims\":[]}}"));
    CHECK_EVAL(REQ(USER, ITEM("0", "conf.cond.owner")),
               "{\"items\":[{\"id\":\"0\",\"result\":\"DENY\",\"reason\":\"conditional needs a resource permission\"}]}");
    CHECK_EVAL(REQ(USER, RITEM("0", "conf.cond.unknown")), "{\"items\":[{\"id\":\"0\",\"result\":\"ABSTAIN\"}]}");
}

TEST(unknown_fields_key_order_and_keys) {
    /* Unknown keys of every shape at every level are skipped; order is free. */
    CHECK_EVAL("{\"x\":{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\"},\"items\":[{\"zz\":[[]],\"permission\":{\"q\":{},"
               "\"attributes\":{\"action\":\"read\",\"extra\":-0.5e+3},\"name\":\"conf.reason\",\"type\":\"basic\"},"
               "\"id\":\"9\",\"y\":true}],\"principal\":{\"ownershipEntityRefs\":[\"r\"],\"extra\":false,"
               "\"type\":\"user\",\"userEntityRef\":\"u\"},\"abi\":1,\"more\":null}",
               "{\"items\":[{\"id\":\"9\",\"result\":\"ALLOW\",\"reason\":\"name=conf.reason type=basic action=read "
               "resourceType=- ref=- principal=user user=u subject=- actor=- owners=r\"}]}");
    /* Keys are compared after unescaping; a repeated key: the last wins. */
    CHECK_EVAL(REQ(USER, "{\"id\":\"0\",\"permission\":{\"type\":\"basic\",\"n\\u0061me\":\"conf.deny\"}}"),
               "{\"items\":[{\"id\":\"0\",\"result\":\"DENY\"}]}");
    CHECK_EVAL(REQ(USER, "{\"id\":\"0\",\"permission\":{\"name\":\"conf.deny\",\"type\":\"basic\","
                         "\"name\":\"conf.allow\"}}"),
               "{\"items\":[{\"id\":\"0\",\"result\":\"ALLOW\"}]}");
    /* Keys match case-sensitively: "Name" is an unknown key. */
    CHECK_EVAL(REQ(USER, "{\"id\":\"0\",\"permission\":{\"type\":\"basic\",\"Name\":\"conf.allow\"}}"),
               "{\"items\":[{\"id\":\"0\",\"result\":\"ABSTAIN\"}]}");
    /* null for a string is absent; a null resourceRef is no resourceRef. */
    CHECK_EVAL("{\"principal\":{\"type\":\"user\",\"userEntityRef\":null,\"ownershipEntityRefs\":null,\"actor\":null},"
               "\"items\":[{\"id\":null,\"permission\":{\"type\":\"basic\",\"name\":\"conf.reason\",\"attributes\":null,"
               "\"resourceType\":null},\"resourceRef\":null}]}",
               "{\"items\":[{\"id\":\"\",\"result\":\"ALLOW\",\"reason\":\"name=conf.reason type=basic action=- "
               "resourceType=- ref=- principal=user user=- subject=- actor=- owners=\"}]}");
    /* Odd ids come back as they were. */
    CHECK_EVAL(REQ(USER, ITEM("a\\\"b\\\\c\\u0000\\u00e9", "conf.allow")),
               "{\"items\":[{\"id\":\"a\\\"b\\\\c\\u0000\xc3\xa9\",\"result\":\"ALLOW\"}]}");
}

/* Regression (UBSan): an absent string is {NULL, 0}, and writing one did
 * NULL + 0 in w_string. Items without id, a principal without fields. */
TEST(absent_strings_are_written_as_empty) {
    CHECK_EVAL("{\"principal\":{},\"items\":[{\"permission\":{\"type\":\"basic\",\"name\":\"conf.allow\"}},"
               "{\"id\":null,\"permission\":{\"name\":\"conf.reason\"}}]}",
               "{\"items\":[{\"id\":\"\",\"result\":\"ALLOW\"},{\"id\":\"\",\"result\":\"ALLOW\",\"reason\":"
               "\"name=conf.reason type= action=- resourceType=- ref=- principal= user=- subject=- actor=- owners=\"}]}");
}

TEST(whitespace) {
    CHECK_EVAL(" \t\r\n{ \t\r\n\"principal\" \t\r\n: \t\r\n{ \"type\" : \"none\" } , \"items\"\n:\n[\n{\"id\"\t:\t\"0\"\r,"
               "\r\"permission\" : { \"type\" : \"basic\" , \"name\" : \"conf.allow\" , \"attributes\" : { } } } ] } \n",
               "{\"items\":[{\"id\":\"0\",\"result\":\"ALLOW\"}]}");
    /* Only the four JSON whitespace bytes count. */
    CHECK_EVAL("\f{\"principal\":{\"type\":\"none\"},\"items\":[]}", BAD_INPUT("input is not a JSON object"));
    CHECK_EVAL("{\"principal\":{\"type\":\"none\"},\v\"items\":[]}", BAD_INPUT("input is not a JSON object"));
    CHECK_EVAL("{\"principal\":{\"type\":\"none\"},\"items\":[]}\xc2\xa0", BAD_INPUT("input is not a JSON object"));
}

TEST(wrong_types_are_bad_input) {
    CHECK_EVAL("{\"items\":[]}", BAD_INPUT("principal is not an object"));
    CHECK_EVAL("{\"principal\":[],\"items\":[]}", BAD_INPUT("principal is not an object"));
    CHECK_EVAL("{\"principal\":{\"type\":\"none\"}}", BAD_INPUT("items is not an array"));
    CHECK_EVAL("{\"principal\":{\"type\":\"none\"},\"items\":{}}", BAD_INPUT("items is not an array"));
    CHECK_EVAL("{\"principal\":{\"type\":1},\"items\":[]}", BAD_INPUT("principal: a field is not a string"));
    CHECK_EVAL("{\"principal\":{\"ownershipEntityRefs\":\"a\"},\"items\":[]}",
               BAD_INPUT("principal: ownershipEntityRefs is not an array"));
    CHECK_EVAL("{\"principal\":{\"ownershipEntityRefs\":[\"a\",null]},\"items\":[]}",
               BAD_INPUT("principal: ownershipEntityRefs holds a non-string"));
    CHECK_EVAL("{\"principal\":{\"actor\":\"x\"},\"items\":[]}", BAD_INPUT("principal: actor is not an object"));
    CHECK_EVAL("{\"principal\":{},\"items\":[5]}", BAD_INPUT("an item is not an object"));
    CHECK_EVAL("{\"principal\":{},\"items\":[{\"id\":0}]}", BAD_INPUT("item id is not a string"));
    CHECK_EVAL("{\"principal\":{},\"items\":[{\"resourceRef\":{}}]}", BAD_INPUT("item resourceRef is not a string"));
    CHECK_EVAL("{\"principal\":{},\"items\":[{\"permission\":\"p\"}]}", BAD_INPUT("item permission is not an object"));
    CHECK_EVAL("{\"principal\":{},\"items\":[{\"permission\":{\"attributes\":{\"action\":true}}}]}",
               BAD_INPUT("permission action is not a string"));
    CHECK_EVAL("[]", BAD_INPUT("input is not a JSON object"));
    CHECK_EVAL("", BAD_INPUT("input is not a JSON object"));
}

/* Every proper prefix of a valid request is malformed: each must give
 * bad_input, and (under AddressSanitizer) never read past its end. */
TEST(truncated_input_fails_cleanly) {
    static const char full[] =
        REQ(USER, RITEM("0", "conf.cond.nested") ","
                  "{\"id\":\"1\",\"permission\":{\"type\":\"basic\",\"name\":\"conf.reason\"},"
                  "\"resourceRef\":\"\\ud83d\\ude00\\u00e9\\n\xc3\xa9 -1.5e+3\"}");
    vd_str whole = h_eval_n(full, sizeof full - 1);
    CHECK(vd_has_prefix(whole, "{\"items\":["));
    for (size_t n = 0; n < sizeof full - 1; n++) {
        vd_str out = h_eval_n(full, n);
        if (!vd_has_prefix(out, "{\"error\":{\"code\":\"bad_input\"")) {
            fprintf(stderr, "prefix of %zu bytes: ", n);
            h_show(out.ptr, out.len);
            fprintf(stderr, "\n");
            CHECK(0);
        }
    }
}

/* Malformed JSON of every kind is bad_input, never a decision. */
TEST(malformed_input_fails_cleanly) {
    static const char *const bad[] = {
        "{", "}", "{\"principal\"", "{\"principal\":", "{\"principal\":{}", "{\"principal\":{},}",
        "{\"principal\":{},\"items\":[],}", "{\"principal\":{},\"items\":[,]}", "{\"principal\":{},\"items\":[{},]}",
        "{\"principal\":{} \"items\":[]}", "{principal:{},\"items\":[]}", "{'principal':{},\"items\":[]}",
        "{\"principal\":{},\"items\":[]}}", "{\"principal\":{},\"items\":[]} x", "{\"principal\":{},\"items\":[]}{}",
        "{\"principal\":{\"type\":\"a\tb\"},\"items\":[]}", "{\"principal\":{\"type\":\"a\nb\"},\"items\":[]}",
        "{\"principal\":{\"type\":\"\\x\"},\"items\":[]}", "{\"principal\":{\"type\":\"\\u12\"},\"items\":[]}",
        "{\"principal\":{\"type\":\"\\u12G4\"},\"items\":[]}", "{\"principal\":{\"type\":\"\\U0041\"},\"items\":[]}",
        "{\"principal\":{\"type\":\"\\\"},\"items\":[]}", "{\"principal\":{\"type\":\"\\ud800\\u\"},\"items\":[]}",
        "{\"principal\":{\"x\":tru},\"items\":[]}", "{\"principal\":{\"x\":nul},\"items\":[]}",
        "{\"principal\":{\"x\":True},\"items\":[]}", "{\"principal\":{\"x\":01},\"items\":[]}",
        "{\"principal\":{\"x\":1.},\"items\":[]}", "{\"principal\":{\"x\":-},\"items\":[]}",
        "{\"principal\":{\"x\":.5},\"items\":[]}", "{\"principal\":{\"x\":1e},\"items\":[]}",
        "{\"principal\":{\"x\":+1},\"items\":[]}", "{\"principal\":{\"x\":0x1},\"items\":[]}",
        "{\"principal\":{\"x\":NaN},\"items\":[]}", "{\"principal\":{\"x\":[1 2]},\"items\":[]}",
        "{\"principal\":{\"x\":{\"a\" 1}},\"items\":[]}", "{\"principal\":{\"x\":{1:1}},\"items\":[]}",
        "\xef\xbb\xbf{\"principal\":{},\"items\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vd_str out = h_eval_n(bad[i], strlen(bad[i]));
        if (!vd_has_prefix(out, "{\"error\":{\"code\":\"bad_input\"")) {
            fprintf(stderr, "input %s: ", bad[i]);
            h_show(out.ptr, out.len);
            fprintf(stderr, "\n");
            CHECK(0);
        }
    }
    /* NUL bytes inside the buffer are data, not an end: here a raw control
     * character in a string. */
    CHECK_STR(h_eval_n("{\"principal\":{\"type\":\"a\0\"},\"items\":[]}", 37), BAD_INPUT("input is not a JSON object"));
}

/* Nesting up to 512 levels is accepted in unknown fields, 513 is not. */
TEST(nesting_limit) {
    for (int depth = 510; depth <= 513; depth++) {
        /* {"principal":{"type":"none"},"items":[],"x": + depth-1 arrays } */
        size_t cap = 64 + 2 * (size_t)depth;
        char *buf = malloc(cap);
        size_t n = 0;
        n += (size_t)sprintf(buf + n, "{\"principal\":{\"type\":\"none\"},\"items\":[],\"x\":");
        for (int i = 0; i < depth - 1; i++) buf[n++] = '[';
        for (int i = 0; i < depth - 1; i++) buf[n++] = ']';
        buf[n++] = '}';
        vd_str out = h_eval_n(buf, n);
        if (depth <= 512) CHECK_STR(out, "{\"items\":[]}");
        else CHECK_STR(out, BAD_INPUT("input is not a JSON object"));
        free(buf);
    }
}

/* Every single-byte change of a valid request gives either answers or
 * bad_input: never a crash or an out-of-bounds read. */
TEST(byte_mutations_never_crash) {
    static const char full[] = REQ(USER, RITEM("0", "conf.cond.params") "," ITEM("1\\u00e9", "conf.reason"));
    static const char subst[] = "\"\\{}[],: \tu0x\x80\xff";
    char buf[sizeof full];
    for (size_t i = 0; i < sizeof full - 1; i++) {
        for (size_t k = 0; k < sizeof subst - 1; k++) {
            memcpy(buf, full, sizeof full);
            buf[i] = subst[k];
            vd_str out = h_eval_n(buf, sizeof full - 1);
            CHECK(vd_has_prefix(out, "{\"items\":[") || vd_has_prefix(out, "{\"error\":{\"code\":\"bad_input\""));
        }
    }
}

TEST(describe_and_configure) {
    vd_test_out = (vd_str){0, 0};
    CHECK(verdict_describe() != 0);
    CHECK_STR(vd_test_out, "{\"abi\":\"1.0\",\"name\":\"conformance\",\"version\":\"0.1.0\",\"sdk\":\"c/0.1.0\","
                           "\"claims\":[\"conf.*\"]}");
    /* A policy without configure takes no settings or files. */
    CHECK_STR(h_conf("{}"), "{\"ok\":true}");
    CHECK_STR(h_conf("{\"settings\":null,\"files\":null}"), "{\"ok\":true}");
    CHECK_STR(h_conf("{\"settings\":{}}"),
              "{\"error\":{\"code\":\"invalid_settings\",\"message\":\"this policy takes no settings or files\"}}");
    CHECK_STR(h_conf("{\"files\":{\"a\":\"b\"}}"),
              "{\"error\":{\"code\":\"invalid_settings\",\"message\":\"this policy takes no settings or files\"}}");
    CHECK_STR(h_conf("{\"files\":[]}"), BAD_INPUT("configure files is not an object"));
    CHECK_STR(h_conf("{\"files\":{\"a\":1}}"), BAD_INPUT("a configure file is not a string"));
    CHECK_STR(h_conf("{\"settings\":"), BAD_INPUT("configure input is not a JSON object"));
}

/* A large batch answers every item in order (the arena grows and is reused). */
TEST(large_batch_reuses_memory) {
    for (int round = 0; round < 3; round++) {
        size_t cap = 64 + 2000 * 128;
        char *buf = malloc(cap);
        size_t n = (size_t)sprintf(buf, "{" USER ",\"items\":[");
        for (int i = 0; i < 2000; i++)
            n += (size_t)sprintf(buf + n, "%s" RITEM("%d", "conf.cond.owner"), i ? "," : "", i);
        n += (size_t)sprintf(buf + n, "]}");
        vd_str out = h_eval_n(buf, n);
        CHECK(h_has(out, "{\"id\":\"1999\",\"result\":\"CONDITIONAL\""));
        CHECK(out.len > 2000 * 100);
        free(buf);
    }
}

int main(void) {
    RUN(basic_results);
    RUN(empty_batch);
    RUN(echo_user_and_service);
    RUN(escapes);
    RUN(unicode_and_surrogates);
    RUN(every_criteria_shape);
    RUN(unknown_fields_key_order_and_keys);
    RUN(absent_strings_are_written_as_empty);
    RUN(whitespace);
    RUN(wrong_types_are_bad_input);
    RUN(truncated_input_fails_cleanly);
    RUN(malformed_input_fails_cleanly);
    RUN(nesting_limit);
    RUN(byte_mutations_never_crash);
    RUN(describe_and_configure);
    RUN(large_batch_reuses_memory);
    DONE();
}
