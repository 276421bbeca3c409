//===- WaitPolicyTest.cpp - the tools' passive OpenMP default -------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// This test binary links tools/WaitPolicy.cpp as nnc-train does, so by the
// time main runs the environment libgomp read must say passive, unless the
// caller chose a policy itself. The child runs of the test check both.
//
//===----------------------------------------------------------------------===//

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

std::string run(const std::string &command) {
  std::string out;
  FILE *pipe = popen(command.c_str(), "r");
  if (!pipe)
    return "<popen failed>";
  char buf[256];
  while (fgets(buf, sizeof buf, pipe))
    out += buf;
  pclose(pipe);
  return out;
}

std::string self() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, n) : std::string();
}

const char *env(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "<unset>";
}

// Prints what this process's libgomp saw; the tests below run it.
TEST(WaitPolicy, Print) {
  std::printf("OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s\n",
              env("OMP_WAIT_POLICY"), env("GOMP_SPINCOUNT"));
}

std::string child(const std::string &assignments) {
  // Not the shard or output file of a sharded run (lit's): the child runs
  // the one test it is told to.
  return run("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u GTEST_TOTAL_SHARDS "
             "-u GTEST_SHARD_INDEX -u GTEST_OUTPUT " +
             assignments + " " + self() +
             " --gtest_filter=WaitPolicy.Print 2>&1");
}

TEST(WaitPolicy, PassiveByDefault) {
  EXPECT_NE(child("").find("OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=<unset>"),
            std::string::npos)
      << child("");
}

TEST(WaitPolicy, TheUsersChoiceIsKept) {
  EXPECT_NE(child("OMP_WAIT_POLICY=active")
                .find("OMP_WAIT_POLICY=active GOMP_SPINCOUNT=<unset>"),
            std::string::npos);
  EXPECT_NE(child("GOMP_SPINCOUNT=1000")
                .find("OMP_WAIT_POLICY=<unset> GOMP_SPINCOUNT=1000"),
            std::string::npos);
}

} // namespace
