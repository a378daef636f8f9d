-- Why a refused job was refused, as the person who asked should read it: a catalogue
-- key and its fields (JSON), told in their language when the job's notice is sent.
-- NULL for a job that failed on konomi's side: its error is for the operator (the log
-- and this row), and the person is told only that it failed and what to do.
ALTER TABLE jobs ADD COLUMN refusal TEXT;
