# Third-party libraries, all from Debian packages (see deploy/install-deps.sh).
find_package(PkgConfig REQUIRED)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(MICROHTTPD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(WEBSOCKETS REQUIRED IMPORTED_TARGET libwebsockets)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
# angora-analyze and angora-train --record-activations: recordings (Debian's serial HDF5
# 1.10); angora-analyze's figures
pkg_check_modules(HDF5 REQUIRED IMPORTED_TARGET hdf5)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
find_package(mujoco REQUIRED)
find_package(MPI REQUIRED COMPONENTS C)
find_library(MATH_LIBRARY m REQUIRED)
find_package(Threads REQUIRED)
if(ANGORA_BUILD_TESTS)
    pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)
endif()
