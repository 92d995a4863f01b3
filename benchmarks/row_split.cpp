// How two threads should share bioopzo's event-driven forward input (README
// Performance, "Two threads that help"; devices/cpp_standalone/pathways.py).
//
// Per step, ~5 % of 2312 inputs are active; each adds its row of a 2312 x 800
// float32 weight matrix into the 800 input currents I. Timed side by side in
// one run, samples (30 steps) per second:
//   1 thread, whole rows
//   2 threads, each half of every row, target array 16-byte aligned (as
//     Brian2 allocates it): the two halves share one cache line of I
//   2 threads, each half of every row, the split on a cache line
//   2 threads, each a block of the step's events over whole rows, the second
//     into a buffer added after a barrier
//
//   g++ -O3 -march=native -fopenmp benchmarks/row_split.cpp -o /tmp/row_split && /tmp/row_split
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

const int kInputs = 2312, kTargets = 800, kSteps = 30, kSamples = 480;

enum class Split { kWholeRows, kHalfRowsUnaligned, kHalfRowsAligned, kEventBlocks };

double samples_per_second(const std::vector<std::vector<int>>& events, const float* weights,
                          float* currents, float* buffer, int threads, Split split) {
  omp_set_num_threads(threads);
  const auto start = std::chrono::steady_clock::now();
  for (const std::vector<int>& step : events) {
    const int n_events = static_cast<int>(step.size());
#pragma omp parallel
    {
      const int thread = omp_get_thread_num(), n_threads = omp_get_num_threads();
      if (split == Split::kEventBlocks) {
        float* into = thread == 0 ? currents : buffer + (thread - 1) * kTargets;
        for (int e = n_events * thread / n_threads; e < n_events * (thread + 1) / n_threads; e++) {
          const float* row = weights + static_cast<size_t>(step[e]) * kTargets;
          for (int j = 0; j < kTargets; j++) into[j] += row[j];
        }
#pragma omp barrier
#pragma omp for schedule(static)
        for (int j = 0; j < kTargets; j++)
          for (int t = 1; t < n_threads; t++) {
            currents[j] += buffer[(t - 1) * kTargets + j];
            buffer[(t - 1) * kTargets + j] = 0;
          }
      } else {
        const int per_line = split == Split::kHalfRowsAligned ? 16 : 1;
        const int block = (kTargets / n_threads + per_line - 1) / per_line * per_line;
        const int begin = std::min(kTargets, thread * block);
        const int end = thread == n_threads - 1 ? kTargets : std::min(kTargets, begin + block);
        for (int e = 0; e < n_events; e++) {
          const float* row = weights + static_cast<size_t>(step[e]) * kTargets;
          for (int j = begin; j < end; j++) currents[j] += row[j];
        }
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return kSamples / seconds;
}

}  // namespace

int main() {
  std::mt19937 rng(1);
  std::vector<std::vector<int>> events(kSteps * kSamples);
  for (std::vector<int>& step : events)
    for (int i = 0; i < kInputs; i++)
      if (rng() % 20 == 0) step.push_back(i);
  float* weights = static_cast<float*>(aligned_alloc(64, sizeof(float) * kInputs * kTargets));
  std::fill(weights, weights + static_cast<size_t>(kInputs) * kTargets, 0.01f);
  // 64-byte aligned storage; the unaligned case starts 16 bytes in, as malloc's arrays do
  float* storage = static_cast<float*>(aligned_alloc(64, sizeof(float) * 4 * kTargets));
  float* buffer = static_cast<float*>(aligned_alloc(64, sizeof(float) * 4 * kTargets));
  std::fill(storage, storage + 4 * kTargets, 0.0f);
  std::fill(buffer, buffer + 4 * kTargets, 0.0f);
  struct Case { const char* name; int threads; Split split; float* currents; };
  const Case cases[] = {
      {"1 thread, whole rows", 1, Split::kWholeRows, storage},
      {"2 threads, half rows, split inside a cache line", 2, Split::kHalfRowsUnaligned, storage + 4},
      {"2 threads, half rows, split on a cache line", 2, Split::kHalfRowsAligned, storage},
      {"2 threads, blocks of events, whole rows", 2, Split::kEventBlocks, storage},
  };
  for (int repeat = 1; repeat <= 3; repeat++) {   // the first repeat also warms the caches
    double first = 0.0;
    for (const Case& c : cases) {
      const double rate = samples_per_second(events, weights, c.currents, buffer, c.threads, c.split);
      if (first == 0.0) first = rate;
      std::printf("repeat %d  %-50s %8.1f samples/s  %.2fx 1 thread\n", repeat, c.name, rate,
                  rate / first);
    }
  }
  return 0;
}
