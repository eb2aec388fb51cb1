/*
 * handoff.h — the producer/consumer pair every connector example runs: the
 * producer puts an array of samples, starts a consumer process and sends it
 * the proxy's descriptor on a pipe; the consumer resolves it and sends back
 * the sum; the producer checks it and evicts the object.
 */
#ifndef EXAMPLE_HANDOFF_H
#define EXAMPLE_HANDOFF_H

/* Runs the pair on store_url and returns main's exit status.  argv is the
 * example's own: run as "EXAMPLE --consumer" it is the consumer. */
int handoff_main(int argc, char **argv, const char *store_url);

#endif
