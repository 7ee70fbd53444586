// control_bench: measures the control plane against a running node.
//
//   control_bench --addr=127.0.0.1:9090 updates 1000
//       1,000 UpdateConfig calls (alternating the body between two values); prints p50/p99/max
//       of the apply time the node reports and of the round trip the client sees.
//   control_bench --addr=127.0.0.1:9090 poll 100 10
//       GetStats 100 times a second for 10 s (the "operator dashboard" load); prints how many
//       calls completed and their p50/p99.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "proxynode/v1/control.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void PrintPercentiles(const char* what, std::vector<double> ms) {
  if (ms.empty()) {
    std::printf("%s: no samples\n", what);
    return;
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&ms](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
  };
  std::printf("%s: n=%zu p50=%.3f ms p99=%.3f ms max=%.3f ms\n", what, ms.size(), at(0.5), at(0.99),
              ms.back());
}

int Updates(proxynode::v1::ControlService::Stub& stub, int count) {
  std::vector<double> apply_ms;
  std::vector<double> round_trip_ms;
  for (int i = 0; i < count; ++i) {
    proxynode::v1::UpdateConfigRequest request;
    request.mutable_config()->set_body(i % 2 == 0 ? "Hello World\n" : "Hello World!\n");
    request.mutable_update_mask()->add_paths("body");
    proxynode::v1::UpdateConfigResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    Clock::time_point start = Clock::now();
    grpc::Status status = stub.UpdateConfig(&context, request, &response);
    Clock::duration took = Clock::now() - start;
    if (!status.ok()) {
      std::fprintf(stderr, "UpdateConfig: %s\n", status.error_message().c_str());
      return 1;
    }
    apply_ms.push_back(static_cast<double>(response.apply_time().seconds()) * 1e3 +
                       response.apply_time().nanos() / 1e6);
    round_trip_ms.push_back(Millis(took));
  }
  PrintPercentiles("apply_time (node: call arrival to every worker acknowledged)", apply_ms);
  PrintPercentiles("round trip (client)", round_trip_ms);
  return 0;
}

int Poll(proxynode::v1::ControlService::Stub& stub, int per_second, int seconds) {
  std::vector<double> ms;
  const auto period = std::chrono::nanoseconds(1'000'000'000 / per_second);
  Clock::time_point next = Clock::now();
  const Clock::time_point end = next + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    proxynode::v1::Stats stats;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    Clock::time_point start = Clock::now();
    grpc::Status status = stub.GetStats(&context, proxynode::v1::GetStatsRequest(), &stats);
    if (!status.ok()) {
      std::fprintf(stderr, "GetStats: %s\n", status.error_message().c_str());
      return 1;
    }
    ms.push_back(Millis(Clock::now() - start));
    next += period;
    std::this_thread::sleep_until(next);
  }
  PrintPercentiles("GetStats", ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:9090";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--addr=", 0) == 0) {
      addr = arg.substr(7);
    } else {
      args.push_back(arg);
    }
  }
  auto stub = proxynode::v1::ControlService::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  if (args.size() == 2 && args[0] == "updates") {
    return Updates(*stub, std::atoi(args[1].c_str()));
  }
  if (args.size() == 3 && args[0] == "poll") {
    return Poll(*stub, std::atoi(args[1].c_str()), std::atoi(args[2].c_str()));
  }
  std::fprintf(stderr,
               "usage: control_bench [--addr=host:port] updates N | poll PER_SECOND SECONDS\n");
  return 2;
}
