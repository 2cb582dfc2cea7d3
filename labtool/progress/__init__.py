"""labtool progress: each step of the walkthrough graded on the live lab (gather, judge, render)."""
