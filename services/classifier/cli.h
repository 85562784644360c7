/*
 * cli: the classifier's offline commands, dispatched by main.c on its first argument.
 *
 *   train    --input FILE --text-column C --label-column L --out MODEL
 *            [--folds K] [--epochs E] [--bits B] [--chars MIN-MAX|0] [--no-bigrams]
 *            [--no-stems] [--no-numbers] [--char-weight W] [--eta X] [--lambda X]
 *            [--balance X] [--seed N] [--quant i8|i16|f32] [--loss svm|softmax] [--c X]
 *            [--tol X]
 *       K-fold stratified cross-validation (default 5; 0 skips it) printing accuracy and
 *       macro-F1, then a model trained on every record, written to MODEL.
 *   eval     [--model MODEL] --input FILE --text-column C --label-column L
 *       accuracy, macro-F1 and a table of precision, recall, F1 and support per label, of
 *       MODEL or else of the shipped topic model (<model dir>/topic.model).
 *   eval     --decision --input FILE [--text-column C] [--label-column topic]
 *            [--incident-column incident] [--municipality-column municipality]
 *            [--urgency-column urgency] [--community-column C]
 *       the same for the full decision (classify.h) on each text (with its community's name
 *       from column C when given; coordinates are not read), for every one of the
 *       four columns the file has (each scored over the records with a value in it;
 *       incident as "true"/"false", no municipality as "none"); a column named "-" is not
 *       scored (a file's "municipality" may name other places than the region pack's).
 *   classify [--stats]
 *       message.v1 records (NDJSON) on stdin, the full decision as one classified.v1 line
 *       each on stdout: the service's code path, for back-tests and benchmarks.
 *   classify --model MODEL [--top K] [--stats]
 *       that model alone: {"id":..,"label":..,"score":..,"scores":{..},"top_features":[..],
 *       "model":..} a line, K explaining features (default 5).
 *   In both, a line that is not a valid message.v1 gives {"line":N,"error":..,"field":..}
 *   and the next line is read; --stats writes the throughput to stderr at the end, with the
 *   time per message spent decoding, deciding and writing.
 *
 * The decision's models and taxonomy come from --model-dir (default $MODEL_DIR, else the
 * shipped <binary>/../share/classifier), its gazetteer from --region-dir (default
 * $REGION_DIR, else <binary>/../share/regions/khakassia).
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
