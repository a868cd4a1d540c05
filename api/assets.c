/*
 * The API's static files: the live page, the OpenAPI document and the
 * documentation pages (api/web), and the npm packages they use
 * (api/web/node_modules: lightweight-charts, Swagger UI, Redoc), served
 * from memory at fixed paths: a table, not a directory listing, so no
 * request can name another file.  Read once at start; one
 * that is missing answers 503 naming it (scripts/web-deps.sh installs the
 * packages).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/msg.h"

struct tka_asset {
	const char *url;
	const char *file; /* under the web folder */
	const char *type;
	char *mem;  /* TKA_FILE_ROOM bytes for the server's headers, then the file */
	char *data;
	size_t len;
};

static struct tka_asset tka__assets[] = {
	{ "/", "index.html", "text/html; charset=utf-8" },
	{ "/live.js", "live.js", "text/javascript" },
	{ "/live.css", "live.css", "text/css" },
	{ "/lib/lightweight-charts.standalone.production.js",
	  "node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js",
	  "text/javascript" },
	{ "/lib/lightweight-charts/LICENSE", "node_modules/lightweight-charts/LICENSE",
	  "text/plain; charset=utf-8" },
	{ "/openapi.json", "openapi.json", "application/json" },
	{ "/docs", "docs.html", "text/html; charset=utf-8" },
	{ "/redoc", "redoc.html", "text/html; charset=utf-8" },
	{ "/docs/swagger-ui.css", "node_modules/swagger-ui-dist/swagger-ui.css", "text/css" },
	{ "/docs/swagger-ui-bundle.js", "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
	  "text/javascript" },
	{ "/docs/swagger-ui-standalone-preset.js",
	  "node_modules/swagger-ui-dist/swagger-ui-standalone-preset.js", "text/javascript" },
	{ "/docs/favicon-32x32.png", "node_modules/swagger-ui-dist/favicon-32x32.png", "image/png" },
	{ "/docs/LICENSE", "node_modules/swagger-ui-dist/LICENSE", "text/plain; charset=utf-8" },
	{ "/docs/NOTICE", "node_modules/swagger-ui-dist/NOTICE", "text/plain; charset=utf-8" },
	{ "/redoc/redoc.standalone.js", "node_modules/redoc/bundles/redoc.standalone.js",
	  "text/javascript" },
	{ "/redoc/LICENSE", "node_modules/redoc/LICENSE", "text/plain; charset=utf-8" },
};

static char tka__dir[1024];

int tka_assets_load(const char *dir)
{
	size_t i;
	int missing = 0;

	snprintf(tka__dir, sizeof(tka__dir), "%s", dir);
	for (i = 0; i < sizeof(tka__assets) / sizeof(tka__assets[0]); i++) {
		struct tka_asset *a = &tka__assets[i];
		char path[1400];
		FILE *f;
		long n;

		snprintf(path, sizeof(path), "%s/%s", dir, a->file);
		f = fopen(path, "rb");
		if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) != 0 ||
		    (a->mem = malloc(TKA_FILE_ROOM + (size_t)n + 1)) == NULL ||
		    fread(a->mem + TKA_FILE_ROOM, 1, (size_t)n, f) != (size_t)n) {
			if (missing++ == 0)
				tk_warn("%s is missing: %s will answer 503 (scripts/web-deps.sh installs "
					"the documentation's packages)", path, a->url);
			free(a->mem);
			a->mem = NULL;
			if (f != NULL)
				fclose(f);
			continue;
		}
		fclose(f);
		a->data = a->mem + TKA_FILE_ROOM;
		a->len = (size_t)n;
	}
	return missing;
}

/* Serve r's path if it is one of the files; false if it is not. */
bool tka_asset(struct tka_req *r, struct tka_resp *o)
{
	size_t i;

	for (i = 0; i < sizeof(tka__assets) / sizeof(tka__assets[0]); i++) {
		const struct tka_asset *a = &tka__assets[i];

		if (strcmp(r->path, a->url) != 0)
			continue;
		if (r->method != TKA_GET && r->method != TKA_HEAD) {
			tka_resp_header(o, "Allow: GET, HEAD");
			tka_problem(o, 405, NULL, "%s is a file: GET it", a->url);
			return true;
		}
		if (a->data == NULL) {
			tka_problem(o, 503, NULL, "%s/%s is missing (scripts/web-deps.sh installs it)",
				    tka__dir, a->file);
			return true;
		}
		tka_json(o, 200);
		o->content_type = a->type;
		o->file = a->data;
		o->file_len = a->len;
		return true;
	}
	return false;
}
