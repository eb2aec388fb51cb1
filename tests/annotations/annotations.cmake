# <proxystore/annotations.h> compiles with no warnings under -pedantic for
# every compiler and standard we support, and in ps-check's own mode.
find_program(PS_CLANG19 NAMES clang-19)
set(PS_ANN_SRC ${CMAKE_CURRENT_SOURCE_DIR}/annotations/declarations.c)
set(PS_ANN_FLAGS -pedantic -Wall -Wextra -Werror -fsyntax-only -I${PROJECT_SOURCE_DIR}/annotations)
set(PS_ANN_COMPILERS gcc)
if(PS_CLANG19)
  list(APPEND PS_ANN_COMPILERS ${PS_CLANG19})
endif()
foreach(cc ${PS_ANN_COMPILERS})
  get_filename_component(ccname ${cc} NAME)
  foreach(std c99 c11 c17 gnu11)
    add_test(NAME annotations_${ccname}_${std} COMMAND ${cc} -std=${std} ${PS_ANN_FLAGS} ${PS_ANN_SRC})
    set_tests_properties(annotations_${ccname}_${std} PROPERTIES LABELS annotations)
  endforeach()
endforeach()
if(PS_CLANG19)
  # What ps-check sees: the annotate attributes must be accepted silently.
  add_test(NAME annotations_ps_check_mode
           COMMAND ${PS_CLANG19} -std=c11 -D__PS_CHECK__ ${PS_ANN_FLAGS} ${PS_ANN_SRC})
  set_tests_properties(annotations_ps_check_mode PROPERTIES LABELS annotations)
endif()
