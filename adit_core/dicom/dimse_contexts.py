"""Presentation contexts: which storage SOP classes and transfer syntaxes we propose.

An association carries at most 128 presentation contexts, so C-GET (one context for the
query/retrieve model, the rest for the instances it may receive) offers a curated list of
storage classes, most common first. C-STORE streams propose what they have seen so far and
fill up with the same list.
"""

from __future__ import annotations

from pydicom.uid import (
    JPEG2000,
    MPEG2MPHL,
    MPEG2MPML,
    MPEG4HP41,
    UID,
    DeflatedExplicitVRLittleEndian,
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
from pynetdicom import build_context, build_role
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

# Most common first: C-STORE fills its spare contexts from the front of this list.
STORAGE_SOP_CLASSES: tuple[UID, ...] = (
    sc.CTImageStorage,
    sc.MRImageStorage,
    sc.SecondaryCaptureImageStorage,
    sc.EnhancedSRStorage,
    sc.BasicTextSRStorage,
    sc.ComprehensiveSRStorage,
    sc.KeyObjectSelectionDocumentStorage,
    sc.GrayscaleSoftcopyPresentationStateStorage,
    sc.ComputedRadiographyImageStorage,
    sc.DigitalXRayImageStorageForPresentation,
    sc.DigitalXRayImageStorageForProcessing,
    sc.DigitalMammographyXRayImageStorageForPresentation,
    sc.DigitalMammographyXRayImageStorageForProcessing,
    sc.UltrasoundImageStorage,
    sc.UltrasoundMultiFrameImageStorage,
    sc.PositronEmissionTomographyImageStorage,
    sc.NuclearMedicineImageStorage,
    sc.EnhancedCTImageStorage,
    sc.EnhancedMRImageStorage,
    sc.XRayRadiationDoseSRStorage,
    sc.EncapsulatedPDFStorage,
    sc.XRayAngiographicImageStorage,
    sc.XRayRadiofluoroscopicImageStorage,
    sc.RTImageStorage,
    sc.RTDoseStorage,
    sc.RTStructureSetStorage,
    sc.RTPlanStorage,
    sc.RTBeamsTreatmentRecordStorage,
    sc.RTIonPlanStorage,
    sc.RTBrachyTreatmentRecordStorage,
    sc.RTTreatmentSummaryRecordStorage,
    sc.RTIonBeamsTreatmentRecordStorage,
    sc.RTBeamsDeliveryInstructionStorage,
    sc.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    sc.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    sc.MultiFrameTrueColorSecondaryCaptureImageStorage,
    sc.MultiFrameSingleBitSecondaryCaptureImageStorage,
    sc.BreastTomosynthesisImageStorage,
    sc.BreastProjectionXRayImageStorageForPresentation,
    sc.BreastProjectionXRayImageStorageForProcessing,
    sc.Comprehensive3DSRStorage,
    sc.ExtensibleSRStorage,
    sc.EnhancedXRayRadiationDoseSRStorage,
    sc.RadiopharmaceuticalRadiationDoseSRStorage,
    sc.PatientRadiationDoseSRStorage,
    sc.AcquisitionContextSRStorage,
    sc.SimplifiedAdultEchoSRStorage,
    sc.MammographyCADSRStorage,
    sc.ChestCADSRStorage,
    sc.ColonCADSRStorage,
    sc.ProcedureLogStorage,
    sc.ImplantationPlanSRStorage,
    sc.PlannedImagingAgentAdministrationSRStorage,
    sc.PerformedImagingAgentAdministrationSRStorage,
    sc.WaveformAnnotationSRStorage,
    sc.ColorSoftcopyPresentationStateStorage,
    sc.PseudoColorSoftcopyPresentationStageStorage,
    sc.BlendingSoftcopyPresentationStateStorage,
    sc.XAXRFGrayscaleSoftcopyPresentationStateStorage,
    sc.AdvancedBlendingPresentationStateStorage,
    sc.LegacyConvertedEnhancedCTImageStorage,
    sc.LegacyConvertedEnhancedMRImageStorage,
    sc.LegacyConvertedEnhancedPETImageStorage,
    sc.EnhancedPETImageStorage,
    sc.EnhancedMRColorImageStorage,
    sc.MRSpectroscopyStorage,
    sc.EnhancedUSVolumeStorage,
    sc.EnhancedXAImageStorage,
    sc.EnhancedXRFImageStorage,
    sc.XRay3DAngiographicImageStorage,
    sc.XRay3DCraniofacialImageStorage,
    sc.DigitalIntraOralXRayImageStorageForPresentation,
    sc.DigitalIntraOralXRayImageStorageForProcessing,
    sc.SegmentationStorage,
    sc.SurfaceSegmentationStorage,
    sc.ParametricMapStorage,
    sc.RealWorldValueMappingStorage,
    sc.SpatialRegistrationStorage,
    sc.DeformableSpatialRegistrationStorage,
    sc.SpatialFiducialsStorage,
    sc.RawDataStorage,
    sc.EncapsulatedCDAStorage,
    sc.EncapsulatedSTLStorage,
    sc.EncapsulatedOBJStorage,
    sc.EncapsulatedMTLStorage,
    sc.VLEndoscopicImageStorage,
    sc.VideoEndoscopicImageStorage,
    sc.VLMicroscopicImageStorage,
    sc.VideoMicroscopicImageStorage,
    sc.VLSlideCoordinatesMicroscopicImageStorage,
    sc.VLPhotographicImageStorage,
    sc.VideoPhotographicImageStorage,
    sc.VLWholeSlideMicroscopyImageStorage,
    sc.DermoscopicPhotographyImageStorage,
    sc.OphthalmicPhotography8BitImageStorage,
    sc.OphthalmicPhotography16BitImageStorage,
    sc.OphthalmicTomographyImageStorage,
    sc.OphthalmicOpticalCoherenceTomographyEnFaceImageStorage,
    sc.WideFieldOphthalmicPhotographyStereographicProjectionImageStorage,
    sc.WideFieldOphthalmicPhotography3DCoordinatesImageStorage,
    sc.OphthalmicThicknessMapStorage,
    sc.IntravascularOpticalCoherenceTomographyImageStorageForPresentation,
    sc.IntravascularOpticalCoherenceTomographyImageStorageForProcessing,
    sc.TwelveLeadECGWaveformStorage,
    sc.GeneralECGWaveformStorage,
    sc.AmbulatoryECGWaveformStorage,
    sc.HemodynamicWaveformStorage,
    sc.CardiacElectrophysiologyWaveformStorage,
    sc.BasicVoiceAudioWaveformStorage,
    sc.GeneralAudioWaveformStorage,
    sc.ArterialPulseWaveformStorage,
    sc.RespiratoryWaveformStorage,
    sc.BasicStructuredDisplayStorage,
    sc.RTPhysicianIntentStorage,
    sc.RTSegmentAnnotationStorage,
    sc.TractographyResultsStorage,
    sc.StereometricRelationshipStorage,
    sc.MacularGridThicknessAndVolumeReportStorage,
    sc.OphthalmicVisualFieldStaticPerimetryMeasurementsStorage,
    sc.OphthalmicAxialMeasurementsStorage,
    sc.IntraocularLensCalculationsStorage,
    sc.LensometryMeasurementsStorage,
    sc.AutorefractionMeasurementsStorage,
    sc.KeratometryMeasurementsStorage,
    sc.SubjectiveRefractionMeasurementsStorage,
    sc.VisualAcuityMeasurementsStorage,
    sc.SpectaclePrescriptionReportStorage,
)

assert len(STORAGE_SOP_CLASSES) == len(set(STORAGE_SOP_CLASSES)) <= MAX_CONTEXTS - 1


def retrieve_contexts(
    query_model: str,
) -> tuple[list[PresentationContext], list[SCP_SCU_RoleSelectionNegotiation]]:
    """Contexts and SCP role items for a C-GET: the model plus every storage class."""
    contexts = [build_context(query_model)]
    roles = []
    for uid in STORAGE_SOP_CLASSES[: MAX_CONTEXTS - 1]:
        contexts.append(build_context(uid, list(RECEIVE_TRANSFER_SYNTAXES)))
        roles.append(build_role(uid, scp_role=True))
    return contexts, roles


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
