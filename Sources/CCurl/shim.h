#ifndef HETEROSCALE_CCURL_SHIM_H
#define HETEROSCALE_CCURL_SHIM_H
/*
 * Typed wrappers around libcurl's variadic setters, which Swift cannot call.
 * Every wrapper is static inline: nothing here allocates or keeps state.
 */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <string.h>

/* ---- curl_easy_setopt ---- */
static inline CURLcode hs_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode hs_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode hs_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode hs_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode hs_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }

/* A blob option (CURLOPT_SSLCERT_BLOB, SSLKEY_BLOB, CAINFO_BLOB): libcurl copies the bytes. */
static inline CURLcode hs_easy_setopt_blob(CURL *h, CURLoption o, const void *data, size_t len) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = len;
    blob.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(h, o, &blob);
}

typedef size_t (*hs_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*hs_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode hs_easy_setopt_write_function(CURL *h, hs_data_callback f) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f); }
static inline CURLcode hs_easy_setopt_header_function(CURL *h, hs_data_callback f) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, f); }
static inline CURLcode hs_easy_setopt_read_function(CURL *h, hs_data_callback f) { return curl_easy_setopt(h, CURLOPT_READFUNCTION, f); }
static inline CURLcode hs_easy_setopt_xferinfo_function(CURL *h, hs_xferinfo_callback f) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f); }

/* ---- curl_easy_getinfo ---- */
static inline CURLcode hs_easy_getinfo_long(CURL *h, CURLINFO i, long *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode hs_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode hs_easy_getinfo_double(CURL *h, CURLINFO i, double *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode hs_easy_getinfo_string(CURL *h, CURLINFO i, char **out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode hs_easy_getinfo_pointer(CURL *h, CURLINFO i, void **out) { return curl_easy_getinfo(h, i, out); }

/* ---- curl_multi_setopt ---- */
static inline CURLMcode hs_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/* ---- constants that Swift imports poorly (macros with casts) ---- */
static inline size_t hs_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int hs_pause_cont(void) { return CURLPAUSE_CONT; }
static inline int hs_pause_recv(void) { return CURLPAUSE_RECV; }
static inline long hs_global_all(void) { return CURL_GLOBAL_ALL; }

/* curl_multi_info_read's message: the union member Swift cannot reach by name reliably. */
static inline CURLcode hs_msg_result(const CURLMsg *m) { return m->data.result; }

#endif
