"""Pseudonymizing every real-world file in process: nothing identifying left, pixel data
untouched, the transfer syntax kept, and re-used headers giving exactly the bytes of
whole-header pseudonymization (big endian and deflated files take the whole path)."""

from __future__ import annotations

from io import BytesIO

from pydicom import dcmread

from adit_core.dicom.elements import cut_file
from adit_core.dicom.instance import DicomInstance
from adit_core.pseudonymize import PseudonymizationOptions, Pseudonymizer
from tests.realworld import scanner
from tests.realworld.corpus import Corpus, pseudonym_for

SECRET = "1" * 64


def test_every_file_pseudonymized_in_process(realworld_corpus: Corpus) -> None:
    problems: list[str] = []
    needles = leaks = 0
    cut = whole = 0
    for study in realworld_corpus.studies().values():
        pseudonym = pseudonym_for(study[0].patient_id)
        options = PseudonymizationOptions(pseudonym, trial_protocol_id="P1")
        reusing = Pseudonymizer(SECRET, options)
        decoding = Pseudonymizer(SECRET, options)
        for f in study:
            source = DicomInstance.from_bytes(f.data)
            out = reusing.instance(source)
            if cut_file(f.data) is not None:
                cut += 1
                slow = decoding.whole_instance(DicomInstance.from_bytes(f.data))
                if slow.data != out.data:
                    problems.append(f"{f.name}: re-used header differs from whole pseudonymization")
            else:
                whole += 1
            ds = dcmread(BytesIO(out.data))
            if str(ds.file_meta.TransferSyntaxUID) != f.transfer_syntax:
                problems.append(f"{f.name}: transfer syntax changed")
            if (bytes(ds.PixelData) if "PixelData" in ds else None) != f.pixel_data:
                problems.append(f"{f.name}: pixel data changed")
            if (
                ds.PatientIdentityRemoved != "YES"
                or ds.file_meta.MediaStorageSOPInstanceUID != ds.SOPInstanceUID
            ):
                problems.append(f"{f.name}: not marked, or meta UID differs")
            found = scanner.needles(f.dataset(), {pseudonym, "ANONYMIZED"})
            needles += len(found)
            for leak in scanner.leaks(ds, out.data, found):
                leaks += 1
                problems.append(f"{f.name}: {leak}")
    print(f"\n[realworld] in process: {cut} files with re-used headers, {whole} decoded whole, "
          f"{needles} identifiers checked, {leaks} found")  # fmt: skip
    assert problems == []
    assert cut > 100 and whole > 20  # both paths really ran
