# Warnings and sanitizers for lastbyte's own targets.

function(lastbyte_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
                                           $<$<BOOL:${LASTBYTE_WERROR}>:-Werror>)
endfunction()

if(LASTBYTE_SANITIZE)
  add_compile_options(-fsanitize=${LASTBYTE_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${LASTBYTE_SANITIZE})
endif()
