# The mpi:// connector's tests: MPI programs run by mpirun (Criterion forks
# each test into a child, where MPI does not work).  As root, mpirun wants
# the OMPI_ALLOW_RUN_AS_ROOT pair; four ranks on two cores need
# --oversubscribe.  Under the sanitizers the ranks get the settings that
# let them exit clean despite Open MPI's own allocations (mpi.supp).
if(NOT PS_HAVE_MPI)
  return()
endif()

foreach(prog mpi_contract mpi_thread_level mpi_finalize_hook mpi_executor)
  add_executable(${prog} ${CMAKE_CURRENT_LIST_DIR}/${prog}.c)
  target_link_libraries(${prog} PRIVATE ps_test_support PkgConfig::XXHASH MPI::MPI_C)
endforeach()

set(PS_MPI_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  "OMPI_MCA_mca_base_component_disable_dlclose=1"
  "ASAN_OPTIONS=fast_unwind_on_malloc=0"
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_LIST_DIR}/mpi.supp")
set(PS_MPIRUN ${MPIEXEC_EXECUTABLE} --oversubscribe --bind-to none
  -x ASAN_OPTIONS -x LSAN_OPTIONS -x OMPI_MCA_mca_base_component_disable_dlclose)

function(ps_mpi_test name ranks prog)
  add_test(NAME ${name} COMMAND ${PS_MPIRUN} -n ${ranks} $<TARGET_FILE:${prog}> ${ARGN})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300 LABELS mpi ENVIRONMENT "${PS_MPI_ENV}")
endfunction()

# Same-node reads from the owners' arenas (all ranks share this node), and
# with ?arena=0 every read through the owner's service thread, as across
# nodes.
ps_mpi_test(mpi_contract_2 2 mpi_contract)
ps_mpi_test(mpi_contract_4 4 mpi_contract)
ps_mpi_test(mpi_contract_heap_2 2 mpi_contract heap)
ps_mpi_test(mpi_contract_heap_4 4 mpi_contract heap)
ps_mpi_test(mpi_thread_level 2 mpi_thread_level)
ps_mpi_test(mpi_finalize_hook 2 mpi_finalize_hook)
# The executor's MPI backend in both topologies, on 3 and 4 ranks.
foreach(topology direct scheduler)
  ps_mpi_test(mpi_executor_${topology}_3 3 mpi_executor ${topology})
  ps_mpi_test(mpi_executor_${topology}_4 4 mpi_executor ${topology})
  # On an mpi:// store: arguments stay on rank 0, results on their worker.
  ps_mpi_test(mpi_executor_${topology}_mpistore_3 3 mpi_executor ${topology} mpi)
  ps_mpi_test(mpi_executor_${topology}_mpistore_4 4 mpi_executor ${topology} mpi)
endforeach()

# The executor example on 3 ranks, in both topologies.
if(TARGET executor_workflow)
  foreach(mode mpi mpi-scheduler)
    add_test(NAME example_executor_${mode}
             COMMAND ${PS_MPIRUN} -n 3 $<TARGET_FILE:executor_workflow> --${mode} shm://ex-workflow-${mode}?arena=64M)
    set_tests_properties(example_executor_${mode} PROPERTIES TIMEOUT 120 LABELS "examples;mpi"
      ENVIRONMENT "${PS_MPI_ENV}" PASS_REGULAR_EXPRESSION "store here: 6 objects put, 12 evicted; workflow ok")
  endforeach()
endif()
