# The example of docs/streams.md, against the suite's Redis server
# (PS_TEST_REDIS_URL, set by scripts/test.sh); skipped without one.
if(TARGET stream_pipeline)
  add_test(NAME example_stream_pipeline COMMAND sh -c
    "if [ -z \"$PS_TEST_REDIS_URL\" ]; then echo 'no PS_TEST_REDIS_URL'; exit 77; fi; exec \"$0\" \"$PS_TEST_REDIS_URL\""
    $<TARGET_FILE:stream_pipeline>)
  set_tests_properties(example_stream_pipeline PROPERTIES TIMEOUT 120 LABELS runtime SKIP_RETURN_CODE 77)
endif()
