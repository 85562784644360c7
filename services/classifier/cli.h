/*
 * cli: the classifier's offline commands, dispatched by main.c on its first argument.
 *
 *   train    --input FILE --text-column C --label-column L --out MODEL
 *            [--folds K] [--epochs E] [--bits B] [--chars MIN-MAX|0] [--no-bigrams]
 *            [--no-stems] [--no-numbers] [--char-weight W] [--eta X] [--lambda X]
 *            [--balance X] [--seed N] [--quant i8|i16|f32]
 *       K-fold stratified cross-validation (default 5; 0 skips it) printing accuracy and
 *       macro-F1, then a model trained on every record, written to MODEL.
 *   eval     --model MODEL --input FILE --text-column C --label-column L
 *       accuracy, macro-F1 and a table of precision, recall, F1 and support per label.
 *   classify --model MODEL [--top K] [--stats]
 *       message.v1 records (NDJSON) on stdin, one classification per line on stdout:
 *       {"id":..,"label":..,"score":..,"scores":{..},"top_features":[..],"model":..};
 *       a line that is not a valid message.v1 gives {"line":N,"error":..,"field":..} and
 *       the next line is read. --stats writes the throughput to stderr at the end.
 *
 * argv[0] is the command's name. Each returns the process exit status: 0 done, 1 failed (a
 * file, the data), 2 bad usage; messages go to stderr, results to stdout.
 */
#ifndef CLASSIFIER_CLI_H
#define CLASSIFIER_CLI_H

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_classify(int argc, char **argv);

#endif
