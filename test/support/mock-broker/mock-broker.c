/*
 * librdkafka's mock cluster with topics created up front, for tests and benchmarks.
 *
 * Why it exists: kcat's mock (test/support/kafka-mock.ts) auto-creates every topic with 4
 * partitions, and the mock keeps at most 5 MiB per partition (rdkafka_mock.c, not configurable),
 * silently dropping the oldest messages beyond that. More partitions are the only way to hold a
 * larger drop, and only the C API can create them (the mock has no CreateTopics).
 *
 *   mock-broker [--brokers 3] [--partitions N] topic...
 *
 * Prints "bootstrap.servers=<list>" on stderr once the topics exist, then serves until SIGTERM or
 * SIGINT. The cluster lives in this process's memory (SIGSTOP/SIGCONT pause and resume it).
 * Built by test/support/kafka-mock.ts: gcc mock-broker.c -lrdkafka (Debian: librdkafka-dev).
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_count(const char *flag, const char *text, int max) {
  char *end = NULL;
  long n = text ? strtol(text, &end, 10) : 0;
  if (!text || *end != '\0' || n < 1 || n > max) {
    fprintf(stderr, "mock-broker: %s wants an integer 1..%d, got %s\n", flag, max, text ? text : "nothing");
    exit(2);
  }
  return (int)n;
}

int main(int argc, char **argv) {
  int brokers = 3, partitions = 4, first_topic = argc;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--partitions") == 0) partitions = parse_count("--partitions", argv[++i], 1024);
    else if (strcmp(argv[i], "--brokers") == 0) brokers = parse_count("--brokers", argv[++i], 16);
    else { first_topic = i; break; }
  }

  /* Blocked before librdkafka starts its threads, so they inherit the mask and sigwait gets them. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  char err[512], count[16];
  snprintf(count, sizeof count, "%d", brokers);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "test.mock.num.brokers", count, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock-broker: %s\n", err);
    return 1;
  }
  /* The handle only hosts the cluster: no bootstrap of its own to dial. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "mock-broker: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mcluster = rd_kafka_handle_mock_cluster(rk);
  if (!mcluster) {
    fprintf(stderr, "mock-broker: librdkafka %s made no mock cluster\n", rd_kafka_version_str());
    return 1;
  }
  for (int i = first_topic; i < argc; i++) {
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mcluster, argv[i], partitions, 1);
    if (e) {
      fprintf(stderr, "mock-broker: cannot create %s: %s\n", argv[i], rd_kafka_err2str(e));
      return 1;
    }
  }
  fprintf(stderr, "mock-broker: %d topics of %d partitions, librdkafka %s\nbootstrap.servers=%s\n", argc - first_topic, partitions,
          rd_kafka_version_str(), rd_kafka_mock_cluster_bootstraps(mcluster));

  int sig = 0;
  sigwait(&stop, &sig);
  rd_kafka_destroy(rk);
  return 0;
}
