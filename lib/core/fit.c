#include "core/fit.h"

#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/util.h"

/* A string that may be cut, and what it takes printed. */
struct text {
	cJSON *node, *parent;
	size_t len, printed;
};

struct texts {
	struct text *v;
	size_t n, cap;
};

size_t fit_printed_len(const cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);
	if (s == NULL)
		die(EXIT_TEMPORARY, "out of memory printing a line");
	size_t n = strlen(s);
	free(s);
	return n;
}

static int listed(const char *key, const char *const *keys)
{
	for (size_t i = 0; key && keys[i]; i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

static void collect(cJSON *obj, const char *const *keys, struct texts *t)
{
	for (cJSON *it = obj->child; it; it = it->next) {
		if (cJSON_IsString(it) && cJSON_IsObject(obj) && listed(it->string, keys)) {
			if (t->n == t->cap) {
				t->cap = t->cap ? 2 * t->cap : 16;
				t->v = xrealloc(t->v, t->cap * sizeof *t->v);
			}
			size_t len = strlen(it->valuestring);
			t->v[t->n++] = (struct text){it, obj, len, jsonx_escaped_len(it->valuestring, len)};
		} else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			collect(it, keys, t);
		}
	}
}

/* Does x's object have its "<key>Truncated" member already. */
static int flagged(const struct text *x)
{
	char key[256];
	snprintf(key, sizeof key, "%sTruncated", x->node->string);
	return cJSON_HasObjectItem(x->parent, key);
}

/* What cutting every text longer than `level` to `level` saves, less the
 * flags it adds (,"<key>Truncated":true). */
static size_t saving(const struct texts *t, size_t level)
{
	size_t saved = 0, added = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].printed > level) {
			saved += t->v[i].printed - level;
			if (!flagged(&t->v[i]))
				added += strlen(t->v[i].node->string) + 18;
		}
	return saved > added ? saved - added : 0;
}

static void cut(struct text *x, size_t level)
{
	char key[256];
	size_t keep = jsonx_fit_prefix(x->node->valuestring, x->len, level);
	x->node->valuestring[keep] = '\0';	/* cJSON frees the whole allocation */
	snprintf(key, sizeof key, "%sTruncated", x->node->string);
	jsonx_set(x->parent, key, cJSON_CreateTrue());
}

/* One pass of fit_texts(); returns the printed size after. */
static size_t cut_to_level(cJSON *obj, size_t size, size_t budget, const char *const *keys)
{
	struct texts t = {0};
	size_t lo = 0, hi = 0;
	collect(obj, keys, &t);
	for (size_t i = 0; i < t.n; i++)
		if (t.v[i].printed > hi)
			hi = t.v[i].printed;
	/* The highest level that saves enough: every text longer is cut to it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (size - saving(&t, mid) <= budget)
			lo = mid;
		else
			hi = mid - 1;
	}
	for (size_t i = 0; i < t.n; i++)
		if (t.v[i].printed > lo)
			cut(&t.v[i], lo);
	free(t.v);
	return fit_printed_len(obj);
}

size_t fit_texts(cJSON *obj, size_t budget, const char *const *keys)
{
	size_t size = fit_printed_len(obj);
	/* A second pass when a cut landed short of its level (a character
	 * not split) or the flags took more than counted. */
	for (int pass = 0; pass < 3 && size > budget; pass++)
		size = cut_to_level(obj, size, budget, keys);
	return size;
}

static const char *const result_texts[] = {
	"output", "input", "expectedOutput", "stdout", "stderr", "compileOutput", "stdOut", NULL,
};

/* Leaves out the last entries of testResults until msg fits. */
static size_t drop_rows(cJSON *msg, size_t size, size_t budget)
{
	cJSON *er = cJSON_GetObjectItemCaseSensitive(msg, "executionResult");
	cJSON *rows = cJSON_GetObjectItemCaseSensitive(er, "testResults");
	int n = cJSON_GetArraySize(rows);
	if (n == 0)
		return size;
	jsonx_set(er, "testResultsTruncated", cJSON_CreateTrue());
	size = fit_printed_len(msg);
	while (size > budget && n > 0) {
		cJSON *last = cJSON_DetachItemFromArray(rows, --n);
		size_t row = fit_printed_len(last) + (n > 0);	/* and its comma */
		cJSON_Delete(last);
		size -= row < size ? row : size;
	}
	return fit_printed_len(msg);
}

int fit_result(cJSON *msg, size_t budget)
{
	size_t size = fit_texts(msg, budget, result_texts);
	if (size > budget)
		size = drop_rows(msg, size, budget);
	return size <= budget ? 0 : -1;
}
