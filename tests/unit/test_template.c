/* test_template.c — the Handlebars subset of src/core/template.c, from
 * golden tables: template + data + mode → output or error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/template.h"
#include "util/xalloc.h"

/* golden rows that render leave the error columns out */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct golden {
	const char *tpl;
	const char *data;      /* JSON */
	enum template_mode mode;
	const char *want;      /* rendering; NULL: an error */
	const char *code;      /* the error's code when want == NULL */
	const char *message;   /* substring of the error's message */
};

#define P TEMPLATE_PLAIN
#define H TEMPLATE_HTML

static void
run(const struct golden *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct template *t = NULL;
		struct err e = {0};
		json_error_t je;
		json_t *d = json_loads(g[i].data, JSON_DECODE_ANY, &je);
		struct buf b;
		int rc;

		if (d == NULL)
			fail_msg("case %zu: bad test JSON %s", i, g[i].data);
		buf_init(&b, 0);
		rc = template_compile(g[i].tpl, strlen(g[i].tpl), &t, &e);
		if (rc == 0)
			rc = template_render(t, d, g[i].mode, &b, &e);
		if (g[i].want != NULL) {
			if (rc != 0)
				fail_msg("case %zu '%s': error %s: %s", i, g[i].tpl, e.code, e.message);
			buf_putc(&b, '\0');
			if (strcmp(b.data, g[i].want) != 0)
				fail_msg("case %zu '%s': got '%s', want '%s'", i, g[i].tpl, b.data,
					 g[i].want);
		} else {
			if (rc == 0)
				fail_msg("case %zu '%s': rendered, want error %s", i, g[i].tpl,
					 g[i].code);
			if (strcmp(e.code, g[i].code) != 0 ||
			    (g[i].message && strstr(e.message, g[i].message) == NULL))
				fail_msg("case %zu '%s': got %s '%s', want %s '%s'", i, g[i].tpl,
					 e.code, e.message, g[i].code, g[i].message);
			assert_int_equal(e.http, 400);
		}
		template_free(t);
		json_decref(d);
		buf_free(&b);
	}
}

static void
test_variables(void **state)
{
	static const struct golden g[] = {
		{"Hello {{name}}!", "{\"name\":\"Ana\"}", P, "Hello Ana!"},
		{"{{ name }}|{{\tname\n}}", "{\"name\":\"x\"}", P, "x|x"},
		{"", "{}", P, ""},
		{"no tags", "{}", H, "no tags"},
		{"{{a.b.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", P, "deep"},
		{"{{n}} {{f}} {{t}} {{z}} {{r}} {{big}}",
		 "{\"n\":42,\"f\":false,\"t\":true,\"z\":null,\"r\":1.5,\"big\":2.0}", P,
		 "42 false true  1.5 2"},
		{"{{list}}", "{\"list\":[1,\"a\",null,[2,3]]}", P, "1,a,,2,3"},
		{"{{o}}", "{\"o\":{\"k\":1}}", P, "[object Object]"},
		{"{{ünï}}", "{\"ünï\":\"utf\"}", P, "utf"},
		{"{{a-b}}{{a_b}}{{$x}}", "{\"a-b\":1,\"a_b\":2,\"$x\":3}", P, "123"},
		{"{{!comment}}a{{!-- {{not}} a tag --}}b", "{}", P, "ab"},
		{"line1\n{{x}}\n", "{\"x\":\"v\"}", P, "line1\nv\n"},
		{"{ {x} } }}", "{}", P, "{ {x} } }}"},
		{"{{x}}", "\"scalar\"", P, NULL, TEMPLATE_ERR_MISSING, "'x'"},
	};
	run(g, sizeof(g) / sizeof(g[0]));
}

static void
test_escaping(void **state)
{
	static const struct golden g[] = {
		{"{{v}}", "{\"v\":\"& < > \\\" ' ` =\"}", H,
		 "&amp; &lt; &gt; &quot; &#x27; &#x60; &#x3D;"},
		{"{{v}}", "{\"v\":\"& < > \\\" ' ` =\"}", P, "& < > \" ' ` ="},
		{"{{{v}}}", "{\"v\":\"<b>&amp;</b>\"}", H, "<b>&amp;</b>"},
		{"{{{ v }}}", "{\"v\":\"<i>\"}", P, "<i>"},
		{"<p>{{v}}</p>", "{\"v\":\"a<b\"}", H, "<p>a&lt;b</p>"},
		{"{{l}}", "{\"l\":[\"<\",\">\"]}", H, "&lt;,&gt;"},
		{"{{n}}", "{\"n\":-3}", H, "-3"},
	};
	run(g, sizeof(g) / sizeof(g[0]));
}

static void
test_if(void **state)
{
	static const struct golden g[] = {
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":true}", P, "yes"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":false}", P, "no"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":null}", P, "no"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":\"\"}", P, "no"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":0}", P, "no"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":0.0}", P, "no"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":[]}", P, "no"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":{}}", P, "yes"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":\"0\"}", P, "yes"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{\"x\":[0]}", P, "yes"},
		{"{{#if x}}yes{{else}}no{{/if}}", "{}", P, "no"}, /* missing in a condition */
		{"{{#if a.b}}yes{{/if}}", "{\"a\":{\"b\":1}}", P, "yes"},
		{"{{#if x}}yes{{/if}}", "{\"x\":1}", P, "yes"},
		{"{{# if x }}yes{{ else }}no{{/ if }}", "{\"x\":0}", P, "no"},
		{"{{#unless x}}no x{{else}}x{{/unless}}", "{\"x\":0}", P, "no x"},
		{"{{#if a}}{{#if b}}ab{{else}}a{{/if}}{{else}}-{{/if}}", "{\"a\":1,\"b\":0}", P,
		 "a"},
		{"{{#if x}}{{y}}{{/if}}", "{\"x\":0}", P, ""}, /* the untaken branch needs no y */
		{"{{#if x}}{{y}}{{/if}}", "{\"x\":1}", P, NULL, TEMPLATE_ERR_MISSING,
		 "Attribute 'y' is not present in the rendering data."},
	};
	run(g, sizeof(g) / sizeof(g[0]));
}

static void
test_each(void **state)
{
	static const struct golden g[] = {
		{"{{#each l}}[{{this}}]{{/each}}", "{\"l\":[1,\"two\",true]}", P, "[1][two][true]"},
		{"{{#each l}}{{@index}}={{this}} {{/each}}", "{\"l\":[\"a\",\"b\"]}", P, "0=a 1=b "},
		{"{{#each l}}{{name}}:{{this.age}};{{/each}}",
		 "{\"l\":[{\"name\":\"A\",\"age\":1},{\"name\":\"B\",\"age\":2}]}", P, "A:1;B:2;"},
		/* an item's own name first, then outer scopes */
		{"{{#each l}}{{name}}@{{site}} {{/each}}",
		 "{\"site\":\"S\",\"l\":[{\"name\":\"A\"},{\"name\":\"B\",\"site\":\"T\"}]}", P,
		 "A@S B@T "},
		{"{{#each l}}{{../site}}{{/each}}", "{\"site\":\"S\",\"l\":[{\"site\":\"T\"}]}", P,
		 "S"},
		{"{{#each l}}x{{else}}empty{{/each}}", "{\"l\":[]}", P, "empty"},
		{"{{#each l}}x{{/each}}", "{\"l\":[]}", P, ""},
		{"{{#each o}}{{@key}}={{this}},{{/each}}", "{\"o\":{\"a\":1,\"b\":2}}", P, "a=1,b=2,"},
		{"{{#each l}}{{#if @first}}<{{/if}}{{this}}{{#if @last}}>{{else}},{{/if}}{{/each}}",
		 "{\"l\":[1,2,3]}", P, "<1,2,3>"},
		{"{{#each rows}}{{#each this}}{{this}}{{/each}};{{/each}}",
		 "{\"rows\":[[1,2],[3]]}", P, "12;3;"},
		{"{{#each l}}{{@index}}{{#each m}}{{@index}}{{/each}}{{/each}}",
		 "{\"l\":[0,0],\"m\":[0,0,0]}", P, "00121012"},
		{"{{#each l}}<{{this}}>{{/each}}", "{\"l\":[\"<&>\"]}", H, "<&lt;&amp;&gt;>"},
		{"{{#each s}}x{{else}}not a list{{/each}}", "{\"s\":\"str\"}", P, "not a list"},
		{"{{#each l}}{{nope}}{{/each}}", "{\"l\":[{}]}", P, NULL, TEMPLATE_ERR_MISSING,
		 "'nope'"},
		{"{{#each missing}}x{{/each}}", "{}", P, NULL, TEMPLATE_ERR_MISSING, "'missing'"},
		{"{{@index}}", "{}", P, NULL, TEMPLATE_ERR_MISSING, "'@index'"},
	};
	run(g, sizeof(g) / sizeof(g[0]));
}

static void
test_missing(void **state)
{
	static const struct golden g[] = {
		{"Hi {{name}}", "{}", P, NULL, TEMPLATE_ERR_MISSING,
		 "Attribute 'name' is not present in the rendering data."},
		{"{{a.b}}", "{\"a\":{}}", P, NULL, TEMPLATE_ERR_MISSING, "Attribute 'a.b' is not"},
		{"{{a.b}}", "{\"a\":\"str\"}", P, NULL, TEMPLATE_ERR_MISSING, "'a.b'"},
		{"{{{raw}}}", "{}", H, NULL, TEMPLATE_ERR_MISSING, "'raw'"},
		{"{{this.x}}", "{}", P, NULL, TEMPLATE_ERR_MISSING, "'this.x'"},
		{"{{../x}}", "{\"x\":1}", P, NULL, TEMPLATE_ERR_MISSING, "'../x'"},
		{"{{z}}", "{\"z\":null}", P, ""}, /* present, null: empty */
	};
	run(g, sizeof(g) / sizeof(g[0]));
}

static void
test_syntax_errors(void **state)
{
	static const struct golden g[] = {
		{"{{name", "{}", P, NULL, "InvalidTemplate", "never closed"},
		{"{{{name}}", "{}", P, NULL, "InvalidTemplate", "never closed"},
		{"{{}}", "{}", P, NULL, "InvalidTemplate", "empty expression"},
		{"{{  }}", "{}", P, NULL, "InvalidTemplate", "empty expression"},
		{"{{#if x}}a", "{}", P, NULL, "InvalidTemplate", "'{{#if}}' is never closed"},
		{"a\n\n{{#each x}}", "{}", P, NULL, "InvalidTemplate", "line 3"},
		{"{{/if}}", "{}", P, NULL, "InvalidTemplate", "closes no open block"},
		{"{{#if x}}{{/each}}", "{}", P, NULL, "InvalidTemplate", "does not close '{{#if}}'"},
		{"{{else}}", "{}", P, NULL, "InvalidTemplate", "outside a block"},
		{"{{#if x}}{{else}}{{else}}{{/if}}", "{}", P, NULL, "InvalidTemplate", "second"},
		{"{{#with x}}{{/with}}", "{}", P, NULL, "InvalidTemplate", "'#with'"},
		{"{{#if}}{{/if}}", "{}", P, NULL, "InvalidTemplate", "needs an argument"},
		{"{{#if a b}}{{/if}}", "{}", P, NULL, "InvalidTemplate", "not supported"},
		{"{{helper arg}}", "{}", P, NULL, "InvalidTemplate", "helpers"},
		{"{{> partial}}", "{}", P, NULL, "InvalidTemplate", "partial"},
		{"{{a..b}}", "{}", P, NULL, "InvalidTemplate", "empty name"},
		{"{{.a}}", "{}", P, NULL, "InvalidTemplate", "empty name"},
		{"{{a.}}", "{}", P, NULL, "InvalidTemplate", "empty name"},
		{"{{a<b}}", "{}", P, NULL, "InvalidTemplate", "not a valid attribute name"},
		{"{{@foo}}", "{}", P, NULL, "InvalidTemplate", "unknown data variable"},
		{"{{../}}", "{}", P, NULL, "InvalidTemplate", "names no attribute"},
		{"{{a {{b}}", "{}", P, NULL, "InvalidTemplate", "unbalanced"},
		{"{{~a}}", "{}", P, NULL, "InvalidTemplate", "whitespace control"},
		{"{{!-- open", "{}", P, NULL, "InvalidTemplate", "never closed"},
	};
	run(g, sizeof(g) / sizeof(g[0]));
}

/* a template of exactly n bytes: text, then one tag at the end */
static char *
sized(size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, 'a', n);
	memcpy(s + n - 5, "{{x}}", 5);
	s[n] = '\0';
	return s;
}

static void
test_caps(void **state)
{
	size_t sizes[] = {TEMPLATE_MAX_BYTES - 1, TEMPLATE_MAX_BYTES, TEMPLATE_MAX_BYTES + 1};

	for (int i = 0; i < 3; i++) {
		char *s = sized(sizes[i]);
		struct template *t = NULL;
		struct err e = {0};
		int rc = template_compile(s, sizes[i], &t, &e);
		assert_int_equal(rc, i < 2 ? 0 : -1);
		if (i == 2) {
			assert_string_equal(e.code, "InvalidTemplate");
			assert_non_null(strstr(e.message, "limit is 512000 bytes"));
		}
		template_free(t);
		free(s);
	}
	/* nesting: 32 blocks compile, 33 do not */
	for (int depth = TEMPLATE_MAX_DEPTH - 1; depth <= TEMPLATE_MAX_DEPTH + 1; depth++) {
		struct buf b;
		struct template *t = NULL;
		struct err e = {0};
		buf_init(&b, 0);
		for (int k = 0; k < depth; k++)
			buf_puts(&b, "{{#if x}}");
		buf_puts(&b, "in");
		for (int k = 0; k < depth; k++)
			buf_puts(&b, "{{/if}}");
		int rc = template_compile(b.data, b.len, &t, &e);
		assert_int_equal(rc, depth <= TEMPLATE_MAX_DEPTH ? 0 : -1);
		if (rc == 0) {
			json_t *d = json_pack("{s:b}", "x", 1);
			buf_reset(&b);
			assert_int_equal(template_render(t, d, P, &b, &e), 0);
			assert_int_equal(b.len, 2);
			json_decref(d);
		} else {
			assert_non_null(strstr(e.message, "deeper than 32"));
		}
		template_free(t);
		buf_free(&b);
	}
	/* a path of 256 bytes compiles, 257 does not */
	for (size_t n = TEMPLATE_MAX_PATH - 1; n <= TEMPLATE_MAX_PATH + 1; n++) {
		char s[TEMPLATE_MAX_PATH + 8];
		struct template *t = NULL;
		struct err e = {0};
		memcpy(s, "{{", 2);
		memset(s + 2, 'p', n);
		memcpy(s + 2 + n, "}}", 2);
		assert_int_equal(template_compile(s, n + 4, &t, &e), n <= TEMPLATE_MAX_PATH ? 0 : -1);
		template_free(t);
	}
}

/* Output and work are capped: nested #each over long lists stop with an
 * error instead of running away. */
static void
test_runaway(void **state)
{
	const char *tpl = "{{#each l}}{{#each l}}{{#each l}}{{#each l}}xxxxxxxxxxxxxxxx"
			  "{{/each}}{{/each}}{{/each}}{{/each}}";
	json_t *l = json_array();
	for (int i = 0; i < 100; i++)
		json_array_append_new(l, json_integer(i));
	json_t *d = json_pack("{s:o}", "l", l);
	struct template *t = NULL;
	struct err e = {0};
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(template_compile(tpl, strlen(tpl), &t, &e), 0);
	assert_int_equal(template_render(t, d, P, &b, &e), -1);
	assert_string_equal(e.code, "InvalidRenderingParameter");
	assert_true(b.len <= TEMPLATE_MAX_OUTPUT + 16);
	template_free(t);
	buf_free(&b);
	json_decref(d);
	/* the same with no output: the step cap */
	tpl = "{{#each l}}{{#each l}}{{#each l}}{{#each l}}{{/each}}{{/each}}{{/each}}{{/each}}";
	d = json_pack("{s:o}", "l", json_array());
	for (int i = 0; i < 100; i++)
		json_array_append_new(json_object_get(d, "l"), json_integer(i));
	buf_init(&b, 0);
	assert_int_equal(template_compile(tpl, strlen(tpl), &t, &e), 0);
	assert_int_equal(template_render(t, d, P, &b, &e), -1);
	assert_non_null(strstr(e.message, "too long to render"));
	template_free(t);
	buf_free(&b);
	json_decref(d);
}

/* A NUL byte is text; free(NULL) is a no-op. */
static void
test_bytes(void **state)
{
	struct template *t = NULL;
	struct err e = {0};
	struct buf b;
	json_t *d = json_object();

	buf_init(&b, 0);
	assert_int_equal(template_compile("a\0b", 3, &t, &e), 0);
	assert_int_equal(template_render(t, d, H, &b, &e), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	template_free(t);
	template_free(NULL);
	buf_free(&b);
	json_decref(d);
}

/* The parts API: compile checks naming the part, defaults under data,
 * escaping only in the HTML part, data errors. */
static void
test_parts(void **state)
{
	struct template_parts p = {"Hi {{name}}", "T {{name}} {{shop}}", "<b>{{name}}</b>"};
	struct template_rendered r = {0};
	struct err e = {0};
	const char *data = "{\"name\": \"<A>\"}";

	assert_int_equal(template_check_parts(&p, NULL, &e), 0);
	assert_int_equal(template_render_parts(&p, "{\"shop\": \"S\", \"name\": \"no\"}", data,
					       strlen(data), &r, &e),
			 0);
	assert_string_equal(r.subject, "Hi <A>");
	assert_string_equal(r.text, "T <A> S");
	assert_string_equal(r.html, "<b>&lt;A&gt;</b>");
	template_rendered_clear(&r);
	template_rendered_clear(&r);

	/* without the defaults, shop is missing */
	assert_int_equal(template_render_parts(&p, NULL, data, strlen(data), &r, &e), -1);
	assert_string_equal(e.code, TEMPLATE_ERR_MISSING);
	assert_string_equal(e.message, "Attribute 'shop' is not present in the rendering data.");
	assert_null(r.subject);

	/* absent parts stay absent */
	struct template_parts only = {NULL, "x", NULL};
	assert_int_equal(template_render_parts(&only, NULL, "{}", 2, &r, &e), 0);
	assert_null(r.subject);
	assert_string_equal(r.text, "x");
	assert_null(r.html);
	template_rendered_clear(&r);

	/* data that is not a JSON object */
	static const char *const bad[] = {"", "{", "[1]", "\"s\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(template_render_parts(&only, NULL, bad[i], strlen(bad[i]), &r, &e),
				 -1);
		assert_string_equal(e.code, "InvalidRenderingParameter");
	}
	assert_int_equal(template_render_parts(&only, "[]", "{}", 2, &r, &e), -1);
	assert_string_equal(e.code, "InvalidRenderingParameter");

	/* data of TEMPLATE_MAX_DATA - 1, TEMPLATE_MAX_DATA, + 1 bytes */
	for (size_t n = TEMPLATE_MAX_DATA - 1; n <= TEMPLATE_MAX_DATA + 1; n++) {
		char *d = xmalloc(n + 1);
		memset(d, ' ', n);
		memcpy(d, "{}", 2);
		d[n] = '\0';
		assert_int_equal(template_render_parts(&only, NULL, d, n, &r, &e),
				 n <= TEMPLATE_MAX_DATA ? 0 : -1);
		template_rendered_clear(&r);
		free(d);
	}

	/* a part that does not compile is named */
	struct template_parts broken = {"ok", "{{#each x}}", NULL};
	assert_int_equal(template_check_parts(&broken, NULL, &e), -1);
	assert_string_equal(e.code, "InvalidTemplate");
	assert_non_null(strstr(e.message, "TextPart: Template syntax error on line 1"));
	/* by the caller's member names when given (v2's TemplateContent) */
	static const char *const names[3] = {"Subject", "Text", "Html"};
	assert_int_equal(template_check_parts(&broken, names, &e), -1);
	assert_int_equal(strncmp(e.message, "Text: Template syntax error", 27), 0);

	/* the 500 KB cap is on the parts together */
	char *half = xmalloc(TEMPLATE_MAX_BYTES / 2 + 2);
	memset(half, 'a', TEMPLATE_MAX_BYTES / 2 + 1);
	half[TEMPLATE_MAX_BYTES / 2 + 1] = '\0';
	struct template_parts two = {NULL, half, half};
	assert_int_equal(template_check_parts(&two, NULL, &e), -1);
	assert_non_null(strstr(e.message, "limit is 512000 bytes"));
	half[TEMPLATE_MAX_BYTES / 2] = '\0';
	assert_int_equal(template_check_parts(&two, NULL, &e), 0);
	free(half);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables), cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_if),        cmocka_unit_test(test_each),
		cmocka_unit_test(test_missing),   cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_caps),      cmocka_unit_test(test_runaway),
		cmocka_unit_test(test_bytes),     cmocka_unit_test(test_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
