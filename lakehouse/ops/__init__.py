"""Operations at scale: run logs and progress (``runlog``), retries of Delta commit conflicts
(``retry``), table maintenance (``maintain``), the offline HTML report (``report``), table
fingerprints for cross-environment comparisons (``fingerprint``) and storage helpers over Hadoop's
FileSystem API (``storage``)."""
