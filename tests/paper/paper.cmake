# Experiment 4 of docs/paper-experiments.md: the cluster recipe's commands,
# run on this node at the smallest sizes with the store on file:// and on
# redis:// (the suite's private server; skipped without it), and with the
# scripts' default store, shm:// on an arena.
if(NOT TARGET bench_throughput OR NOT TARGET bench_reuse)
  return()
endif()
foreach(experiment throughput reuse)
  foreach(kind file redis shm)
    add_test(NAME paper_recipe_${experiment}_${kind}
             COMMAND ${CMAKE_CURRENT_LIST_DIR}/recipe.sh ${experiment} ${kind} ${PROJECT_SOURCE_DIR}
                     $<TARGET_FILE_DIR:bench_throughput> ${PS_MPIRUN})
    set_tests_properties(paper_recipe_${experiment}_${kind} PROPERTIES TIMEOUT 120 LABELS "mpi;paper"
      SKIP_RETURN_CODE 77 ENVIRONMENT "${PS_MPI_ENV}")
  endforeach()
endforeach()
