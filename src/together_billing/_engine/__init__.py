"""The replay engine's machinery, one room per concern (private; the public face is
:mod:`together_billing.engine`).

Find a rule by its family:

========================  =================================================================
``fold``                  the loop: one queue of events and scheduled checks, one dispatch
``context``               what a family may use: state, services, checks, ``Family``; G2
``vocabulary``            statuses, begins, admission's answers
``metering``              G3, G4: running units, pieces, credit draws of running units
``invoicing``             IN1-IN4: accruals into invoice lines, credits applied, amount due
``serverless``            SL1-SL3
``finetuning``            FT1 (jobs; hosting, FT2, is ``deployments``)
``deployments``           DE1-DE4, FT2
``clusters``              CL1-CL6 and their part of CR3, CR4, CR7
``storage``               ST1-ST3 and their part of CR5, CR7
``credits``               CR1-CR8: admission, exhaustion, grace, restoration
``draws``                 CR1: what running resources owe, followed and booked
``crossing``              CR2: when a balance reaches a level (tolerance, microseconds)
``alerts``                CR6: the run-out forecast and its alert
========================  =================================================================

Room rules (tests/test_engine_rooms.py): no family imports another; ``credits`` imports
no family; nothing outside ``engine.py`` and this package imports it.
"""
