# R reference for tests/test_soc_responses.py: Fisher's exact P and Newcombe's hybrid score interval (method 10)
newcombe <- function(x1, n1, x2, n2) {
  w1 <- prop.test(x1, n1, correct = FALSE)$conf.int; w2 <- prop.test(x2, n2, correct = FALSE)$conf.int
  p1 <- x1 / n1; p2 <- x2 / n2; d <- p1 - p2
  c(d - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2), d + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
}
for (k in list(c(19, 22, 12, 18), c(15, 22, 7, 18))) {
  p <- fisher.test(matrix(c(k[1], k[2] - k[1], k[3], k[4] - k[3]), 2, byrow = TRUE))$p.value
  ci <- newcombe(k[1], k[2], k[3], k[4])
  cat(sprintf("(%d, %d, %d, %d): (%.10f, %.10f, %.10f),\n", k[1], k[2], k[3], k[4], p, ci[1], ci[2]))
}
