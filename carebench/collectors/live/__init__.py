"""Live collectors: public platform APIs (no login) -> raw pages on disk -> normalised posts.

A run has two phases. Fetching pages the API and writes every response to a raw page
file under the run directory, with a checkpoint after each page, so a crash or Ctrl-C
loses nothing and a rerun continues from the cursor. Reading turns the run's raw pages
into normalised posts, which the caller lands in the store in one transaction.
"""
