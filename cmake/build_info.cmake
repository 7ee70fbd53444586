# The build identity baked into the binaries (common/build_info.h): the product version
# (project(VERSION) in the top CMakeLists.txt), the git commit and the build type.
#
# The commit is read when CMake configures, not at each build. scripts/build.sh configures
# every time, and a new commit or checkout re-runs the configure through the dependencies
# set below; but local edits made after a configure do not add "-dirty" until the next one.
# Outside a git checkout of this project (a source tarball, the Docker build context, which
# leaves .git out) the commit is "unknown", or what -DPROXYNODE_COMMIT=... says.
set(PROXYNODE_COMMIT "" CACHE STRING "Commit the binaries report (empty: ask git at configure)")

set(PROXYNODE_BUILD_COMMIT "${PROXYNODE_COMMIT}")
if(PROXYNODE_BUILD_COMMIT STREQUAL "")
  find_package(Git QUIET)
  if(GIT_FOUND)
    # Only this project's own checkout: not a repository that merely contains the sources.
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --show-toplevel
      WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" RESULT_VARIABLE git_result
      OUTPUT_VARIABLE git_toplevel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(git_result EQUAL 0)
      file(REAL_PATH "${git_toplevel}" git_toplevel)
      file(REAL_PATH "${PROJECT_SOURCE_DIR}" source_dir)
    endif()
    if(git_result EQUAL 0 AND git_toplevel STREQUAL source_dir)
      # The commit (tags left out), "-dirty" when tracked files differ from it.
      execute_process(
        COMMAND "${GIT_EXECUTABLE}" describe --always --dirty --abbrev=12 --exclude=*
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" RESULT_VARIABLE git_result
        OUTPUT_VARIABLE PROXYNODE_BUILD_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(NOT git_result EQUAL 0)
        set(PROXYNODE_BUILD_COMMIT "")
      endif()
      # Configure again when HEAD moves: a checkout changes HEAD, a commit its branch's ref.
      execute_process(
        COMMAND "${GIT_EXECUTABLE}" rev-parse --git-path HEAD --symbolic-full-name HEAD
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" OUTPUT_VARIABLE git_head
        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      string(REPLACE "\n" ";" git_head "${git_head}")
      list(LENGTH git_head git_head_length)
      if(git_head_length EQUAL 2)
        list(GET git_head 0 head_file)
        list(GET git_head 1 branch_ref)
        execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --git-path "${branch_ref}"
          WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" OUTPUT_VARIABLE ref_file
          OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        foreach(file IN ITEMS "${head_file}" "${ref_file}")
          get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${PROJECT_SOURCE_DIR}")
          if(EXISTS "${file}")
            set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY
              CMAKE_CONFIGURE_DEPENDS "${file}")
          endif()
        endforeach()
      endif()
    endif()
  endif()
  if(PROXYNODE_BUILD_COMMIT STREQUAL "")
    set(PROXYNODE_BUILD_COMMIT "unknown")
  endif()
endif()
set(PROXYNODE_BUILD_TYPE "${CMAKE_BUILD_TYPE}")
message(STATUS "proxynode ${PROJECT_VERSION}, commit ${PROXYNODE_BUILD_COMMIT}, ${PROXYNODE_BUILD_TYPE}")
