/*
 * test_mpi_url.c — mpi:// seen from a process that is not in an MPI job
 * (the cross-rank contract is tests/mpi/mpi_contract.c, run by mpirun).
 *
 * Whether this build has the connector shows in the list of known schemes
 * an unknown scheme's error gives; the checks follow from it.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <proxystore/proxystore.h>

static bool built_with_mpi(void)
{
    cr_assert_null(ps_store_open("probe", "nosuch://", NULL));
    return strstr(ps_last_error_message(), ", mpi") != NULL;
}

Test(mpi_url, outside_an_mpi_job_is_a_clear_error)
{
    cr_assert_null(ps_store_open("m", "mpi://space", NULL));
    if (built_with_mpi()) {
        ps_store_open("m", "mpi://space", NULL);
        cr_assert_eq(ps_last_error_code(), PS_ERR_STATE, "%s", ps_last_error_message());
        cr_assert(strstr(ps_last_error_message(), "MPI_Init_thread") &&
                  strstr(ps_last_error_message(), "ps_mpi_init"), "says what to call: %s", ps_last_error_message());
    } else {
        ps_store_open("m", "mpi://space", NULL);
        cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL);
        cr_assert(strstr(ps_last_error_message(), "built without MPI"), "%s", ps_last_error_message());
    }
}

Test(mpi_url, malformed_urls)
{
    const char *bad[] = {
        "mpi://space/path", "mpi://space?color=red", "mpi://space?timeout=0", "mpi://space?timeout=abc",
        "mpi://space?timeout=3600001", "mpi://:secret@space", "mpi://space:4000", "mpi://sp%20ace",
        "mpi://space?arena=abc", "mpi://space?arena=-1", "mpi://space?arena=2048G", "mpi://space?arena=1T",
    };
    bool with_mpi = built_with_mpi();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_null(ps_store_open("m", bad[i], NULL), "%s opened", bad[i]);
        cr_assert_eq(ps_last_error_code(), PS_ERR_BAD_URL, "%s: %s", bad[i], ps_last_error_message());
        if (with_mpi)
            cr_assert(strstr(ps_last_error_message(), "mpi URL"), "%s: %s", bad[i], ps_last_error_message());
    }
}

/* A descriptor made by a rank of some job, read by a process outside it. */
Test(mpi_url, descriptor_outside_the_job)
{
    const char *desc = "psproxy/1 store=ranked url=mpi://space key=mpi.0123456789abcdef.1."
                       "00112233445566778899aabbccddeeff type=unsigned%20char kind=pod elem=1 count=4 size=4 "
                       "hash=0123456789abcdef";
    /* trusted, so what refuses it is the connector, not the trust policy */
    cr_assert_eq(ps_trust_allow_url("mpi://space"), PS_OK, "%s", ps_last_error_message());
    cr_assert_null(ps_proxy_deserialize(desc, &ps_type_bytes));
    ps_status want = built_with_mpi() ? PS_ERR_STATE : PS_ERR_BAD_URL;
    ps_proxy_deserialize(desc, &ps_type_bytes);
    cr_assert_eq(ps_last_error_code(), want, "%s", ps_last_error_message());
    cr_assert(strstr(ps_last_error_message(), "MPI"), "the message names MPI: %s", ps_last_error_message());
}
