/*
 * test_error.c — error codes and messages: names, per-thread state, the
 * functions every module reports through.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <proxystore/proxystore.h>

#include "error.h"

Test(errors, status_names)
{
    const char *names[] = {"PS_OK", "PS_ERR_INVALID_ARGUMENT", "PS_ERR_NO_MEMORY", "PS_ERR_BAD_URL",
                           "PS_ERR_NOT_FOUND", "PS_ERR_EXISTS", "PS_ERR_BAD_DESCRIPTOR", "PS_ERR_BAD_DATA",
                           "PS_ERR_TYPE_MISMATCH", "PS_ERR_IO", "PS_ERR_CONNECTION", "PS_ERR_SERVER",
                           "PS_ERR_SERIALIZE", "PS_ERR_CLOSED", "PS_ERR_TIMEOUT", "PS_ERR_STATE"};
    for (int i = 0; i <= PS_ERR_STATE; i++)
        cr_assert_str_eq(ps_status_name((ps_status)i), names[i]);
    cr_assert_str_eq(ps_status_name((ps_status)1000), "PS_ERR_UNKNOWN");
}

Test(errors, set_and_read)
{
    ps_error_clear();
    cr_assert_eq(ps_last_error_code(), PS_OK);
    cr_assert_str_eq(ps_last_error_message(), "no error");
    cr_assert_eq(ps_error_set(PS_ERR_NOT_FOUND, "no object under key '%s'", "k1"), PS_ERR_NOT_FOUND);
    cr_assert_eq(ps_last_error_code(), PS_ERR_NOT_FOUND);
    cr_assert_str_eq(ps_last_error_message(), "no object under key 'k1'");
}

Test(errors, errno_is_appended)
{
    errno = ENOENT;
    cr_assert_eq(ps_error_errno(PS_ERR_IO, "open %s", "/x"), PS_ERR_IO);
    cr_assert_str_eq(ps_last_error_message(), "open /x: No such file or directory");
    cr_assert_eq(errno, ENOENT, "errno is preserved");
}

Test(errors, wrap_keeps_the_code)
{
    ps_error_set(PS_ERR_CONNECTION, "server gone");
    cr_assert_eq(ps_error_wrap("put key '%s'", "k"), PS_ERR_CONNECTION);
    cr_assert_str_eq(ps_last_error_message(), "put key 'k': server gone");
}

Test(errors, message_may_quote_itself)
{
    /* re-reporting the current message under another code */
    ps_error_set(PS_ERR_INVALID_ARGUMENT, "invalid key 'x y'");
    ps_error_set(PS_ERR_BAD_DESCRIPTOR, "descriptor field 'key': %s", ps_last_error_message());
    cr_assert_str_eq(ps_last_error_message(), "descriptor field 'key': invalid key 'x y'");
}

Test(errors, long_messages_are_truncated)
{
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ps_error_set(PS_ERR_IO, "%s", big);
    cr_assert_lt(strlen(ps_last_error_message()), 512);
    cr_assert_gt(strlen(ps_last_error_message()), 400);
}

static void *other_thread(void *arg)
{
    (void)arg;
    ps_error_set(PS_ERR_TIMEOUT, "the other thread's error");
    return NULL;
}

Test(errors, per_thread)
{
    ps_error_set(PS_ERR_EXISTS, "mine");
    pthread_t t;
    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    cr_assert_eq(ps_last_error_code(), PS_ERR_EXISTS);
    cr_assert_str_eq(ps_last_error_message(), "mine");
}

Test(errors, api_failures_explain_themselves)
{
    /* each failing call leaves a message that says what went wrong */
    cr_assert_null(ps_store_open("e", "redis://127.0.0.1:notaport", NULL));
    cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL);
    cr_assert(strstr(ps_last_error_message(), "non-numeric port"), "%s", ps_last_error_message());
    ps_store *s = ps_store_open("e", "local://", NULL);
    cr_assert_null(ps_store_get(s, "k", &ps_type_int32, NULL));
    cr_assert_str_eq(ps_last_error_message(), "no object under key 'k' in the local store");
    cr_assert_eq(ps_store_put(s, &ps_type_int32, &(int){1}, 1, NULL), PS_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(ps_last_error_message(), "key_out"), "%s", ps_last_error_message());
    ps_store_close(s);
}
