"""Presentation contexts: which storage SOP classes and transfer syntaxes we propose.

A presentation context names one SOP class and the transfer syntaxes we can take for it;
the other side accepts it with exactly one of them. An instance stored in a syntax the
accepted context does not name is transcoded by the sender (Orthanc: decompressed, or
refused with "Cannot transcode" when it cannot). So every instance arrives as it is only
if each syntax it may be in has a context of its own: one context per (SOP class,
transfer syntax).

An association carries at most 128 contexts, and one is the query/retrieve model's. So a
C-GET proposes contexts only for the SOP classes the study holds (the image-level C-FIND
that lists the expected instances names them): 13 single-syntax contexts per class for
the syntaxes real archives hold, plus one context with every other syntax (video, HTJ2K,
JPEG XL...), 14 in all: 9 classes fit one association. A study with more classes is
fetched over several associations, one after the other, each asking for the series whose
classes it has contexts for. Without a listing (no SOP classes known), the common classes
are proposed with all syntaxes per context, as before (transcoding then remains possible).

C-STORE streams propose what they have seen so far, one context per (class, syntax), and
fill up with the common classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydicom._uid_dict import UID_dictionary
from pydicom.uid import (
    JPEG2000,
    MPEG2MPHL,
    MPEG2MPML,
    MPEG4HP41,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import ALL_TRANSFER_SYNTAXES, build_context, build_role
from pynetdicom import sop_class as sc
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

MAX_CONTEXTS = 128

UNCOMPRESSED: tuple[UID, ...] = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)

# Everything we can receive as is; the sender picks one per context (or transcodes).
RECEIVE_TRANSFER_SYNTAXES: tuple[UID, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLosslessSV1,
    JPEGLossless,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEG2000,
    JPEGLSNearLossless,
    DeflatedExplicitVRLittleEndian,
    MPEG2MPML,
    MPEG2MPHL,
    MPEG4HP41,
)

# What real archives hold: each gets a context of its own for every class a C-GET expects.
SINGLE_CONTEXT_SYNTAXES: tuple[UID, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
)
# Everything else pynetdicom knows, in one shared context per class.
OTHER_SYNTAXES: tuple[UID, ...] = tuple(
    UID(s) for s in ALL_TRANSFER_SYNTAXES if s not in SINGLE_CONTEXT_SYNTAXES
)
CONTEXTS_PER_CLASS = len(SINGLE_CONTEXT_SYNTAXES) + 1
CLASSES_PER_ASSOCIATION = (MAX_CONTEXTS - 1) // CONTEXTS_PER_CLASS  # 9

# Every storage SOP class of the standard, retired ones included (e.g. the retired
# Ultrasound classes real archives still hold).
ALL_STORAGE_SOP_CLASSES: tuple[UID, ...] = tuple(
    UID(uid)
    for uid, (name, kind, *_rest) in UID_dictionary.items()
    if kind == "SOP Class" and "Storage" in name and "Commitment" not in name
)

# Most common first: C-STORE fills its spare contexts from the front of this list.
_COMMON_CLASS_KEYWORDS = (
    "CTImageStorage",
    "MRImageStorage",
    "SecondaryCaptureImageStorage",
    "EnhancedSRStorage",
    "BasicTextSRStorage",
    "ComprehensiveSRStorage",
    "KeyObjectSelectionDocumentStorage",
    "GrayscaleSoftcopyPresentationStateStorage",
    "ComputedRadiographyImageStorage",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation",
    "DigitalMammographyXRayImageStorageForProcessing",
    "UltrasoundImageStorage",
    "UltrasoundMultiFrameImageStorage",
    "PositronEmissionTomographyImageStorage",
    "NuclearMedicineImageStorage",
    "EnhancedCTImageStorage",
    "EnhancedMRImageStorage",
    "XRayRadiationDoseSRStorage",
    "EncapsulatedPDFStorage",
    "XRayAngiographicImageStorage",
    "XRayRadiofluoroscopicImageStorage",
    "RTImageStorage",
    "RTDoseStorage",
    "RTStructureSetStorage",
    "RTPlanStorage",
    "RTBeamsTreatmentRecordStorage",
    "RTIonPlanStorage",
    "RTBrachyTreatmentRecordStorage",
    "RTTreatmentSummaryRecordStorage",
    "RTIonBeamsTreatmentRecordStorage",
    "RTBeamsDeliveryInstructionStorage",
    "MultiFrameGrayscaleByteSecondaryCaptureImageStorage",
    "MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
    "MultiFrameTrueColorSecondaryCaptureImageStorage",
    "MultiFrameSingleBitSecondaryCaptureImageStorage",
    "BreastTomosynthesisImageStorage",
    "BreastProjectionXRayImageStorageForPresentation",
    "BreastProjectionXRayImageStorageForProcessing",
    "Comprehensive3DSRStorage",
    "ExtensibleSRStorage",
    "EnhancedXRayRadiationDoseSRStorage",
    "RadiopharmaceuticalRadiationDoseSRStorage",
    "PatientRadiationDoseSRStorage",
    "AcquisitionContextSRStorage",
    "SimplifiedAdultEchoSRStorage",
    "MammographyCADSRStorage",
    "ChestCADSRStorage",
    "ColonCADSRStorage",
    "ProcedureLogStorage",
    "ImplantationPlanSRStorage",
    "PlannedImagingAgentAdministrationSRStorage",
    "PerformedImagingAgentAdministrationSRStorage",
    "WaveformAnnotationSRStorage",
    "ColorSoftcopyPresentationStateStorage",
    "PseudoColorSoftcopyPresentationStageStorage",
    "BlendingSoftcopyPresentationStateStorage",
    "XAXRFGrayscaleSoftcopyPresentationStateStorage",
    "AdvancedBlendingPresentationStateStorage",
    "LegacyConvertedEnhancedCTImageStorage",
    "LegacyConvertedEnhancedMRImageStorage",
    "LegacyConvertedEnhancedPETImageStorage",
    "EnhancedPETImageStorage",
    "EnhancedMRColorImageStorage",
    "MRSpectroscopyStorage",
    "EnhancedUSVolumeStorage",
    "EnhancedXAImageStorage",
    "EnhancedXRFImageStorage",
    "XRay3DAngiographicImageStorage",
    "XRay3DCraniofacialImageStorage",
    "DigitalIntraOralXRayImageStorageForPresentation",
    "DigitalIntraOralXRayImageStorageForProcessing",
    "SegmentationStorage",
    "SurfaceSegmentationStorage",
    "ParametricMapStorage",
    "RealWorldValueMappingStorage",
    "SpatialRegistrationStorage",
    "DeformableSpatialRegistrationStorage",
    "SpatialFiducialsStorage",
    "RawDataStorage",
    "EncapsulatedCDAStorage",
    "EncapsulatedSTLStorage",
    "EncapsulatedOBJStorage",
    "EncapsulatedMTLStorage",
    "VLEndoscopicImageStorage",
    "VideoEndoscopicImageStorage",
    "VLMicroscopicImageStorage",
    "VideoMicroscopicImageStorage",
    "VLSlideCoordinatesMicroscopicImageStorage",
    "VLPhotographicImageStorage",
    "VideoPhotographicImageStorage",
    "VLWholeSlideMicroscopyImageStorage",
    "DermoscopicPhotographyImageStorage",
    "OphthalmicPhotography8BitImageStorage",
    "OphthalmicPhotography16BitImageStorage",
    "OphthalmicTomographyImageStorage",
    "OphthalmicOpticalCoherenceTomographyEnFaceImageStorage",
    "WideFieldOphthalmicPhotographyStereographicProjectionImageStorage",
    "WideFieldOphthalmicPhotography3DCoordinatesImageStorage",
    "OphthalmicThicknessMapStorage",
    "IntravascularOpticalCoherenceTomographyImageStorageForPresentation",
    "IntravascularOpticalCoherenceTomographyImageStorageForProcessing",
    "TwelveLeadECGWaveformStorage",
    "GeneralECGWaveformStorage",
    "AmbulatoryECGWaveformStorage",
    "HemodynamicWaveformStorage",
    "CardiacElectrophysiologyWaveformStorage",
    "BasicVoiceAudioWaveformStorage",
    "GeneralAudioWaveformStorage",
    "ArterialPulseWaveformStorage",
    "RespiratoryWaveformStorage",
    "BasicStructuredDisplayStorage",
    "RTPhysicianIntentStorage",
    "RTSegmentAnnotationStorage",
    "TractographyResultsStorage",
    "StereometricRelationshipStorage",
    "MacularGridThicknessAndVolumeReportStorage",
    "OphthalmicVisualFieldStaticPerimetryMeasurementsStorage",
    "OphthalmicAxialMeasurementsStorage",
    "IntraocularLensCalculationsStorage",
    "LensometryMeasurementsStorage",
    "AutorefractionMeasurementsStorage",
    "KeratometryMeasurementsStorage",
    "SubjectiveRefractionMeasurementsStorage",
    "VisualAcuityMeasurementsStorage",
    "SpectaclePrescriptionReportStorage",
)
# pynetdicom creates these attributes at run time (invisible to a type checker).
STORAGE_SOP_CLASSES: tuple[UID, ...] = tuple(UID(getattr(sc, k)) for k in _COMMON_CLASS_KEYWORDS)

assert len(STORAGE_SOP_CLASSES) == len(set(STORAGE_SOP_CLASSES)) <= MAX_CONTEXTS - 1


def _register_unknown_storage_classes() -> None:
    """Make pynetdicom handle C-STORE for every storage class, retired ones included: it
    aborts the association on a class it has no service class for."""
    from pynetdicom.service_class import ServiceClass, StorageServiceClass
    from pynetdicom.sop_class import register_uid, uid_to_service_class

    for uid in ALL_STORAGE_SOP_CLASSES:
        if uid_to_service_class(uid) is ServiceClass:
            register_uid(uid, str(UID_dictionary[uid][4]), StorageServiceClass)


_register_unknown_storage_classes()


def retrieve_contexts(
    query_model: str, sop_classes: Iterable[str] | None = None
) -> tuple[list[PresentationContext], list[SCP_SCU_RoleSelectionNegotiation]]:
    """Contexts and SCP role items for one C-GET association.

    With `sop_classes` (at most CLASSES_PER_ASSOCIATION of them): one context per transfer
    syntax for each, so nothing needs transcoding. Without: the common classes, each with
    every syntax in one context.
    """
    contexts = [build_context(query_model)]
    roles = []
    if sop_classes is None:
        for uid in STORAGE_SOP_CLASSES[: MAX_CONTEXTS - 1]:
            contexts.append(build_context(uid, list(RECEIVE_TRANSFER_SYNTAXES)))
            roles.append(build_role(uid, scp_role=True))
        return contexts, roles
    classes = sorted({str(c) for c in sop_classes})
    if len(classes) > CLASSES_PER_ASSOCIATION:
        raise ValueError(f"{len(classes)} SOP classes do not fit one association")
    for sop_class in classes:
        contexts += [build_context(sop_class, [syntax]) for syntax in SINGLE_CONTEXT_SYNTAXES]
        contexts.append(build_context(sop_class, list(OTHER_SYNTAXES)))
        roles.append(build_role(sop_class, scp_role=True))
    return contexts, roles


def group_series(
    classes_by_series: Mapping[str, Iterable[str]],
) -> list[tuple[list[str], set[str]]]:
    """Series grouped so that each group's SOP classes fit one C-GET association.

    First fit, in the given order: a series joins the first group whose classes still fit
    with its own, else starts a new one. A series with more classes than fit (rare:
    series normally hold one class) is given a group of its own with its first classes;
    the rest cannot be received and are reported missing.
    """
    groups: list[tuple[list[str], set[str]]] = []
    for series, classes in classes_by_series.items():
        wanted = set(classes)
        for members, group_classes in groups:
            if len(group_classes | wanted) <= CLASSES_PER_ASSOCIATION:
                members.append(series)
                group_classes.update(wanted)
                break
        else:
            groups.append(([series], set(sorted(wanted)[:CLASSES_PER_ASSOCIATION])))
    return groups


class StoreContexts:
    """The contexts to propose for a C-STORE stream, learning from what it has seen.

    Each (SOP class, transfer syntax) pair seen gets a context of its own, so the bytes
    can be sent without transcoding; each seen class also gets an uncompressed context
    (pynetdicom converts between the two little endian syntaxes). The remaining contexts
    propose the common classes, so that most streams never need a second association.
    """

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], None] = {}

    def note(self, sop_class: str, transfer_syntax: str) -> bool:
        """Remember a pair; True when it is new."""
        key = (sop_class, transfer_syntax)
        if key in self._pairs:
            return False
        self._pairs[key] = None
        return True

    def proposal(self, first: tuple[str, str] | None = None) -> list[PresentationContext]:
        contexts: list[PresentationContext] = []
        proposed: set[tuple[str, tuple[str, ...]]] = set()

        def add(sop_class: str, syntaxes: tuple[str, ...]) -> None:
            if len(contexts) < MAX_CONTEXTS and (sop_class, syntaxes) not in proposed:
                proposed.add((sop_class, syntaxes))
                contexts.append(build_context(sop_class, list(syntaxes)))

        # Most recent pairs first, so a stream with many kinds keeps what it needs now.
        pairs = list(reversed(self._pairs))
        if first is not None:
            pairs.insert(0, first)
        for sop_class, syntax in pairs:
            add(sop_class, (syntax,))
            add(sop_class, UNCOMPRESSED)
        seen_syntaxes = tuple(dict.fromkeys(s for _, s in pairs if s not in UNCOMPRESSED))
        for sop_class in STORAGE_SOP_CLASSES:
            add(sop_class, (*seen_syntaxes, *UNCOMPRESSED))
        return contexts
