"""PS3.15 Annex E Table E.1-1 (Application Level Confidentiality Profile Attributes), as data.

Each row of the standard's table: the attribute's tag, its action under the Basic
Application Level Confidentiality Profile, the profile options that change that action,
and its name. Rows are copied from the standard (the 2023 edition's table, as published in
machine-readable form); `gggggggg` stands for every private attribute (odd group),
`50xxxxxx` for the retired curve groups and `60xx....` for the overlay groups.

Actions (PS3.15 E.1.1): X remove; Z replace with a zero-length (or dummy) value; D replace
with a non-zero-length dummy value; U replace the UID with one that is consistent within
the set of instances; K keep; C clean (keep the meaning, drop what identifies). Where the
table offers a choice (X/Z, X/D, Z/D, X/Z/D) the action depends on the attribute's type in
its IOD, which we do not know per SOP class, so we take the one that keeps every type
valid: D before Z before X. X/Z/U* (reference sequences): keep, with their UIDs replaced.

Option flags (one letter per option column of the table, where the option changes the
action): u Retain UIDs (K), v Retain Device Identity (K), i Retain Institution Identity
(K), p Retain Patient Characteristics (K), q Retain Patient Characteristics (C),
f Retain Longitudinal Temporal Information with Full Dates (K), d Retain Longitudinal
Temporal Information with Modified Dates (C), s Clean Descriptors (C), t Clean Structured
Content (C), g Clean Graphics (C), r Retain Safe Private (C).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class Action(StrEnum):
    KEEP = "K"
    REMOVE = "X"
    EMPTY = "Z"
    DUMMY = "D"
    UID = "U"
    REFERENCES = "U*"  # a sequence kept, its UIDs replaced
    SHIFT = "C-dates"  # dates and times moved (Modified Dates option)
    CLEAN = "C"  # kept; the identifying values of the instance scrubbed from its text


@dataclass(frozen=True)
class ProfileOption:
    flag: str
    code: str  # CID 7050 (De-identification Method), coding scheme DCM
    meaning: str
    action: Action


BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")

# The options we implement, and why:
# - dates: every date of a patient moves by one keyed whole-day shift, so intervals and
#   ages stay exact while the real dates are gone;
# - patient characteristics: sex, age, size and weight are needed for research (weight
#   for PET SUV) and are not identifying on their own;
# - descriptors and structured content: study/series descriptions, protocol names and SR
#   report text are what makes the data usable; they are kept and cleaned: every
#   identifying value of the instance (names, IDs, institution, station, device serial
#   numbers...) is removed from their text (see adit_core/pseudonymize.py, `scrub`).
OPTIONS: tuple[ProfileOption, ...] = (
    ProfileOption("d", "113107", "Retain Longitudinal Temporal Information Modified Dates Option",
                  Action.SHIFT),
    ProfileOption("p", "113108", "Retain Patient Characteristics Option", Action.KEEP),
    ProfileOption("q", "113108", "Retain Patient Characteristics Option", Action.CLEAN),
    ProfileOption("s", "113105", "Clean Descriptors Option", Action.CLEAN),
    ProfileOption("t", "113104", "Clean Structured Content Option", Action.CLEAN),
)  # fmt: skip


def method_codes() -> list[tuple[str, str]]:
    """(code, meaning) of the profile and of every option used, for the method sequence."""
    codes = [BASIC_PROFILE_CODE]
    for option in OPTIONS:
        if (option.code, option.meaning) not in codes:
            codes.append((option.code, option.meaning))
    return codes


@dataclass(frozen=True)
class Row:
    tag: str  # eight hex digits, "x" for a repeating group digit; gggggggg: private
    basic: str  # the Basic Profile's action(s) as the standard writes them: X, X/Z, ...
    flags: str  # the options that change the action ("-" when none)
    name: str

    @property
    def action(self) -> Action:
        """What we do: the Basic Profile's action, changed by the options we implement."""
        for option in OPTIONS:
            if option.flag in self.flags:
                return option.action
        return _basic_action(self.basic)


def _basic_action(basic: str) -> Action:
    choices = basic.split("/")
    if "U*" in choices:
        return Action.REFERENCES
    for action in (Action.DUMMY, Action.EMPTY, Action.UID, Action.REMOVE):
        if action.value in choices:
            return action
    raise ValueError(f"unknown action {basic!r}")


_TABLE = """\
00080050 Z - Accession Number
00184000 X s Acquisition Comments
00400555 X/Z t Acquisition Context Sequence
00080022 X/Z fd Acquisition Date
0008002A X/Z/D fd Acquisition DateTime
00181400 X/D s Acquisition Device Processing Description
001811BB D s Acquisition Field Of View Label
00189424 X s Acquisition Protocol Description
00080032 X/Z fd Acquisition Time
00404035 X - Actual Human Performers Sequence
001021B0 X s Additional Patient History
0040A353 X - Address (Trial)
00380010 X - Admission ID
00380020 X fd Admitting Date
00081084 X s Admitting Diagnoses Code Sequence
00081080 X s Admitting Diagnoses Description
00380021 X fd Admitting Time
00001000 X u Affected SOP Instance UID
00102110 X qs Allergies
40000010 X - Arbitrary
0040A078 X - Author Observer Sequence
22000005 X/Z - Barcode Value
300A00C3 X s Beam Description
300A00DD X s Bolus Description
00101081 X - Branch of Service
0016004D X - Camera Owner Name
00181007 X v Cassette ID
00120060 Z i Clinical Trial Coordinating Center Name
00120082 X - Clinical Trial Protocol Ethics Committee Approval Number
00120081 D i Clinical Trial Protocol Ethics Committee Name
00120020 D - Clinical Trial Protocol ID
00120021 Z - Clinical Trial Protocol Name
00120072 X s Clinical Trial Series Description
00120071 X - Clinical Trial Series ID
00120030 Z i Clinical Trial Site ID
00120031 Z i Clinical Trial Site Name
00120010 D - Clinical Trial Sponsor Name
00120040 D - Clinical Trial Subject ID
00120042 D - Clinical Trial Subject Reading ID
00120051 X s Clinical Trial Time Point Description
00120050 Z - Clinical Trial Time Point ID
00400310 X s Comments on Radiation Dose
00400280 X s Comments on the Performed Procedure Step
300A02EB X s Compensator Description
00209161 U u Concatenation UID
3010000F Z s Conceptual Volume Combination Description
30100017 Z s Conceptual Volume Description
30100006 U u Conceptual Volume UID
00403001 X - Confidentiality Constraint on Patient Data Description
30100013 U u Constituent Conceptual Volume UID
0008009C Z - Consulting Physician's Name
0008009D X - Consulting Physician Identification Sequence
0050001B X - Container Component ID
0040051A X s Container Description
00400512 D - Container Identifier
00700086 X - Content Creator's Identification Code Sequence
00700084 Z/D - Content Creator's Name
00080023 Z/D fd Content Date
0040A730 D t Content Sequence
00080033 Z/D fd Content Time
00180010 Z/D s Contrast/Bolus Agent
0018A003 X s Contribution Description
00102150 X - Country of Residence
0040A307 X - Current Observer (Trial)
00380300 X - Current Patient Location
50xxxxxx X g Curve Data
00080025 X fd Curve Date
00080035 X fd Curve Time
0040A07C X - Custodial Organization Sequence
FFFCFFFC X - Data Set Trailing Padding
0018937F X s Decomposition Description
00082111 X s Derivation Description
0018700A X/D v Detector ID
3010001B Z - Device Alternate Identifier
00500020 X v Device Description
3010002D D v Device Label
00181000 X/Z/D v Device Serial Number
0016004B X s Device Setting Description
00181002 U uv Device UID
FFFAFFFA X - Digital Signatures Sequence
04000100 U - Digital Signature UID
00209164 U u Dimension Organization UID
00380040 X s Discharge Diagnosis Description
4008011A X - Distribution Address
40080119 X - Distribution Name
300A0016 X s Dose Reference Description
300A0013 U u Dose Reference UID
3010006E U u Dosimetric Objective UID
00189517 X/D fd End Acquisition DateTime
30100037 X s Entity Description
30100035 D s Entity Label
30100038 D s Entity Long Label
30100036 X s Entity Name
300A0676 X s Equipment Frame of Reference Description
00102160 X p Ethnic Group
00404011 X fd Expected Completion DateTime
00080058 U u Failed SOP Instance UID List
0070031A U u Fiducial UID
00402017 Z - Filler Order Number / Imaging Service Request
30080054 X/D fd First Treatment Date
300A0196 X s Fixation Device Description
00340002 D - Flow Identifier
00340001 D - Flow Identifier Sequence
3010007F Z s Fractionation Notes
300A0072 X s Fraction Group Description
00209158 X s Frame Comments
00200052 U u Frame of Reference UID
00340007 D fd Frame Origin Timestamp
00181008 X v Gantry ID
00181005 X v Generator ID
00160076 X - GPS Altitude
00160075 X - GPS Altitude Ref
0016008C X - GPS Area Information
0016008D X fd GPS Date Stamp
00160088 X - GPS Dest Bearing
00160087 X - GPS Dest Bearing Ref
0016008A X - GPS Dest Distance
00160089 X - GPS Dest Distance Ref
00160084 X - GPS Dest Latitude
00160083 X - GPS Dest Latitude Ref
00160086 X - GPS Dest Longitude
00160085 X - GPS Dest Longitude Ref
0016008E X - GPS Differential
0016007B X - GPS DOP
00160081 X - GPS Img Direction
00160080 X - GPS Img Direction Ref
00160072 X - GPS Latitude
00160071 X - GPS Latitude Ref
00160074 X - GPS Longitude
00160073 X - GPS Longitude Ref
00160082 X - GPS Map Datum
0016007A X - GPS Measure Mode
0016008B X - GPS Processing Method
00160078 X - GPS Satellites
0016007D X - GPS Speed
0016007C X - GPS Speed Ref
00160079 X - GPS Status
00160077 X - GPS Time Stamp
0016007F X - GPS Track
0016007E X - GPS Track Ref
00160070 X - GPS Version ID
00700001 D g Graphic Annotation Sequence
00404037 X - Human Performer's Name
00404036 X - Human Performer's Organization
00880200 X - Icon Image Sequence
00084000 X s Identifying Comments
00204000 X s Image Comments
00284000 X - Image Presentation Comments
00402400 X s Imaging Service Request Comments
003A0314 D fd Impedance Measurement DateTime
40080300 X s Impressions
00080015 X fd Instance Coercion DateTime
00080014 U u Instance Creator UID
04000600 X - Instance Origin Status
00080081 X i Institution Address
00081040 X i Institutional Department Name
00081041 X i Institutional Department Type Code Sequence
00080082 X/Z/D i Institution Code Sequence
00080080 X/Z/D i Institution Name
00101050 X - Insurance Plan Identification
3010004D X/D fd Intended Phase End Date
3010004C X/D fd Intended Phase Start Date
00401011 X - Intended Recipients of Results Identification Sequence
300A0741 D fd Interlock DateTime
300A0742 D s Interlock Description
300A0783 D s Interlock Origin Description
40080111 X - Interpretation Approver Sequence
4008010C X - Interpretation Author
40080115 X s Interpretation Diagnosis Description
40080202 X - Interpretation ID Issuer
40080102 X - Interpretation Recorder
4008010B X s Interpretation Text
4008010A X - Interpretation Transcriber
00083010 U u Irradiation Event UID
00380011 X - Issuer of Admission ID
00380014 X - Issuer of Admission ID Sequence
00100021 X - Issuer of Patient ID
00380061 X - Issuer of Service Episode ID
00380064 X - Issuer of Service Episode ID Sequence
00400513 Z - Issuer of the Container Identifier Sequence
00400562 Z - Issuer of the Specimen Identifier Sequence
22000002 X/Z s Label Text
00281214 U u Large Palette Color Lookup Table UID
001021D0 X fd Last Menstrual Date
0016004F X v Lens Make
00160050 X v Lens Model
00160051 X v Lens Serial Number
0016004E X v Lens Specification
00500021 X s Long Device Description
04000404 X - MAC
0016002B X s Maker Note
0018100B U uv Manufacturer's Device Class UID
30100043 Z v Manufacturer's Device Identifier
00020003 U u Media Storage SOP Instance UID
00102000 X s Medical Alerts
00101090 X - Medical Record Locator
00101080 X - Military Rank
04000550 X - Modified Attributes Sequence
00203406 X - Modified Image Description
00203401 X - Modifying Device ID
30080056 X/D fd Most Recent Treatment Date
0018937B X s Multi-energy Acquisition Description
003A0310 U u Multiplex Group UID
00081060 X - Name of Physician(s) Reading Study
00401010 X - Names of Intended Recipients of Results
04000551 X - Nonconforming Modified Attributes Sequence
04000552 X - Nonconforming Data Element Value
0040A192 X fd Observation Date (Trial)
0040A402 U u Observation Subject UID (Trial)
0040A193 X fd Observation Time (Trial)
0040A171 U u Observation UID
00102180 X s Occupation
00081072 X/D - Operator Identification Sequence
00081070 X/Z/D - Operators' Name
00402010 X - Order Callback Phone Number
00402011 X - Order Callback Telecom Information
00402008 X - Order Entered By
00402009 X - Order Enterer's Location
04000561 X - Original Attributes Sequence
00101000 X - Other Patient IDs
00101002 X - Other Patient IDs Sequence
00101001 X - Other Patient Names
60xx4000 X g Overlay Comments
60xx3000 X g Overlay Data
00080024 X fd Overlay Date
00080034 X fd Overlay Time
300A0760 D fd Override DateTime
00281199 U u Palette Color Lookup Table UID
0040A07A X - Participant Sequence
00101040 X - Patient's Address
00101010 X p Patient's Age
00100030 Z - Patient's Birth Date
00101005 X - Patient's Birth Name
00100032 X - Patient's Birth Time
00380400 X - Patient's Institution Residence
00100050 X - Patient's Insurance Plan Code Sequence
00101060 X - Patient's Mother's Birth Name
00100010 Z - Patient's Name
00100101 X - Patient's Primary Language Code Sequence
00100102 X - Patient's Primary Language Modifier Code Sequence
001021F0 X - Patient's Religious Preference
00100040 Z p Patient's Sex
00102203 X/Z p Patient's Sex Neutered
00101020 X p Patient's Size
00102155 X - Patient's Telecom Information
00102154 X - Patient's Telephone Numbers
00101030 X p Patient's Weight
00104000 X s Patient Comments
00100020 Z - Patient ID
300A0650 U u Patient Setup UID
00380500 X qs Patient State
00401004 X - Patient Transport Arrangements
00400243 X - Performed Location
00400254 X s Performed Procedure Step Description
00400250 X fd Performed Procedure Step End Date
00404051 X fd Performed Procedure Step End DateTime
00400251 X fd Performed Procedure Step End Time
00400253 X - Performed Procedure Step ID
00400244 X fd Performed Procedure Step Start Date
00404050 X fd Performed Procedure Step Start DateTime
00400245 X fd Performed Procedure Step Start Time
00400241 X v Performed Station AE Title
00404030 X v Performed Station Geographic Location Code Sequence
00400242 X v Performed Station Name
00404028 X v Performed Station Name Code Sequence
00081050 X - Performing Physician's Name
00081052 X - Performing Physician Identification Sequence
00401102 X - Person's Address
00401104 X - Person's Telecom Information
00401103 X - Person's Telephone Numbers
00401101 D - Person Identification Code Sequence
0040A123 D - Person Name
00081048 X - Physician(s) of Record
00081049 X - Physician(s) of Record Identification Sequence
00081062 X - Physician(s) Reading Study Identification Sequence
40080114 X - Physician Approving Interpretation
00402016 Z - Placer Order Number / Imaging Service Request
00181004 X v Plate ID
001021C0 X p Pregnancy Status
00400012 X q Pre-Medication
300A000E X s Prescription Description
3010007B Z s Prescription Notes
30100081 Z s Prescription Notes Sequence
00701101 U u Presentation Display Collection UID
00701102 U u Presentation Sequence Collection UID
30100061 X s Prior Treatment Dose Description
gggggggg X r Private attributes
00404052 X fd Procedure Step Cancellation DateTime
00181030 X/D s Protocol Name
300A0619 D s Radiation Dose Identification Label
300A0623 D s Radiation Dose In-Vivo Measurement Label
300A067D Z s Radiation Generation Mode Description
300A067C D s Radiation Generation Mode Label
300C0113 X s Reason for Omission Description
0040100A X s Reason for Requested Procedure Code Sequence
00321030 X s Reason for Study
3010005C Z s Reason for Superseding
00402001 X s Reason for the Imaging Service Request
00401002 X s Reason for the Requested Procedure
00321066 X s Reason for Visit
00321067 X s Reason for Visit Code Sequence
300A073A D fd Recorded RT Control Point DateTime
3010000B U u Referenced Conceptual Volume UID
04000402 X - Referenced Digital Signature Sequence
300A0083 U u Referenced Dose Reference UID
3010006F U u Referenced Dosimetric Objective UID
30100031 U u Referenced Fiducials UID
30060024 U u Referenced Frame of Reference UID
00404023 U u Referenced General Purpose Scheduled Procedure Step Transaction UID
00081140 X/Z/U* u Referenced Image Sequence
0040A172 U u Referenced Observation UID (Trial)
00380004 X - Referenced Patient Alias Sequence
00101100 X - Referenced Patient Photo Sequence
00081120 X - Referenced Patient Sequence
00081111 X/Z/D u Referenced Performed Procedure Step Sequence
04000403 X - Referenced SOP Instance MAC Sequence
00081155 U u Referenced SOP Instance UID
00041511 U u Referenced SOP Instance UID in File
00081110 X/Z u Referenced Study Sequence
00080092 X - Referring Physician's Address
00080090 Z - Referring Physician's Name
00080094 X - Referring Physician's Telephone Numbers
00080096 X - Referring Physician Identification Sequence
00102152 X - Region of Residence
300600C2 U u Related Frame of Reference UID
00400275 X s Request Attributes Sequence
00321070 X s Requested Contrast Agent
00401400 X s Requested Procedure Comments
00321060 X/Z s Requested Procedure Description
00401001 X - Requested Procedure ID
00401005 X - Requested Procedure Location
00189937 X s Requested Series Description
00001001 U u Requested SOP Instance UID
00321032 X - Requesting Physician
00321033 X - Requesting Service
00189185 X s Respiratory Motion Compensation Technique Description
00102299 X - Responsible Organization
00102297 X - Responsible Person
40084000 X s Results Comments
40080118 X - Results Distribution List Sequence
40080042 X - Results ID Issuer
300E0008 X/Z - Reviewer Name
30060028 X s ROI Description
30060038 X s ROI Generation Description
300600A6 Z - ROI Interpreter
30060026 Z s ROI Name
30060088 X s ROI Observation Description
30060085 X s ROI Observation Label
300A0615 Z - RT Accessory Device Slot ID
300A0611 Z - RT Accessory Holder Slot ID
3010005A Z s RT Physician Intent Narrative
300A0006 X/D fd RT Plan Date
300A0004 X s RT Plan Description
300A0002 D s RT Plan Label
300A0003 X s RT Plan Name
300A0007 X/D fd RT Plan Time
30100054 D s RT Prescription Label
300A062A D s RT Tolerance Set Label
30100056 X/D s RT Treatment Approach Label
3010003B U u RT Treatment Phase UID
00404034 X - Scheduled Human Performers Sequence
0038001E X - Scheduled Patient Institution Residence
00400006 X - Scheduled Performing Physician's Name
0040000B X - Scheduled Performing Physician Identification Sequence
00400007 X s Scheduled Procedure Step Description
00400004 X fd Scheduled Procedure Step End Date
00400005 X fd Scheduled Procedure Step End Time
00404008 X fd Scheduled Procedure Step Expiration DateTime
00400009 X - Scheduled Procedure Step ID
00400011 X v Scheduled Procedure Step Location
00404010 X fd Scheduled Procedure Step Modification DateTime
00400002 X fd Scheduled Procedure Step Start Date
00404005 X fd Scheduled Procedure Step Start DateTime
00400003 X fd Scheduled Procedure Step Start Time
00400001 X v Scheduled Station AE Title
00404027 X v Scheduled Station Geographic Location Code Sequence
00400010 X v Scheduled Station Name
00404025 X v Scheduled Station Name Code Sequence
00321020 X v Scheduled Study Location
00321021 X v Scheduled Study Location AE Title
00080021 X/D fd Series Date
0008103E X s Series Description
0020000E U u Series Instance UID
00080031 X/D fd Series Time
00380062 X s Service Episode Description
00380060 X - Service Episode ID
300A01B2 X s Setup Technique Description
300A01A6 X s Shielding Device Description
004006FA X - Slide Identifier
001021A0 X p Smoking Status
00080018 U u SOP Instance UID
30100015 U u Source Conceptual Volume UID
0018936A D fd Source End DateTime
00340005 D - Source Identifier
00082112 X/Z/U* u Source Image Sequence
300A0216 X v Source Manufacturer
30080105 X/Z v Source Serial Number
00189369 D fd Source Start DateTime
00380050 X q Special Needs
0040050A X - Specimen Accession Number
00400602 X s Specimen Detailed Description
00400551 D - Specimen Identifier
00400610 Z t Specimen Preparation Sequence
00400600 X s Specimen Short Description
00400554 U u Specimen UID
00189516 X/D fd Start Acquisition DateTime
00081010 X/Z/D v Station Name
00880140 U u Storage Media File-set UID
30060008 Z fd Structure Set Date
30060006 X s Structure Set Description
30060002 D s Structure Set Label
30060004 X s Structure Set Name
30060009 X/D fd Structure Set Time
00324000 X s Study Comments
00080020 Z fd Study Date
00081030 X s Study Description
00200010 Z - Study ID
00320012 X - Study ID Issuer
0020000D U u Study Instance UID
00080030 Z fd Study Time
00200200 U u Synchronization Frame of Reference UID
00182042 U u Target UID
0040A354 X - Telephone Number (Trial)
0040DB0D U u Template Extension Creator UID
0040DB0C U u Template Extension Organization UID
40004000 X - Text Comments
20300020 X - Text String
00080201 X fd Timezone Offset From UTC
00880910 X - Topic Author
00880912 X - Topic Keywords
00880906 X - Topic Subject
00880904 X - Topic Title
00620021 U u Tracking UID
00081195 U u Transaction UID
00185011 X v Transducer Identification Sequence
30080250 X/D fd Treatment Date
300A00B2 X v Treatment Machine Name
300A0608 D s Treatment Position Group Label
300A0609 U u Treatment Position Group UID
300A0700 U u Treatment Session UID
30100077 D s Treatment Site
3010007A Z s Treatment Technique Notes
30080251 X/D fd Treatment Time
300A0736 D fd Treatment Tolerance Violation DateTime
300A0734 D s Treatment Tolerance Violation Description
0018100A X v UDI Sequence
0040A124 U - UID
00181009 X v Unique Device Identifier
30100033 D s User Content Label
30100034 D s User Content Long Label
0040A352 X - Verbal Source (Trial)
0040A358 X - Verbal Source Identifier Code Sequence (Trial)
0040A088 Z - Verifying Observer Identification Code Sequence
0040A075 D - Verifying Observer Name
0040A073 D - Verifying Observer Sequence
0040A027 D - Verifying Organization
00384000 X s Visit Comments
00189371 D v X-Ray Detector ID
00189373 X v X-Ray Detector Label
00189367 D v X-Ray Source ID
"""

ROWS: tuple[Row, ...] = tuple(
    Row(tag, basic, flags, name)
    for tag, basic, flags, name in (line.split(" ", 3) for line in _TABLE.splitlines())
)
_BY_TAG: dict[int, Row] = {
    int(r.tag, 16): r for r in ROWS if all(c in "0123456789ABCDEF" for c in r.tag)
}
_PRIVATE = next(r for r in ROWS if r.tag == "gggggggg")
_CURVE = next(r for r in ROWS if r.tag == "50xxxxxx")
_OVERLAY = {int(r.tag[4:], 16): r for r in ROWS if r.tag.startswith("60xx")}


@lru_cache(maxsize=8192)
def row_for(tag: int) -> Row | None:
    """The table's row for an attribute (None: not in the table, so kept)."""
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1:
        return _PRIVATE
    row = _BY_TAG.get(tag)
    if row is not None:
        return row
    if 0x5000 <= group <= 0x50FF:
        return _CURVE
    if 0x6000 <= group <= 0x60FF:
        return _OVERLAY.get(element)
    return None


def action_for(tag: int) -> Action:
    row = row_for(tag)
    return Action.KEEP if row is None else row.action


_TEXT_OR_NAME_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN"})


@lru_cache(maxsize=1)
def identifying_tags() -> frozenset[int]:
    """Attributes whose values identify someone or something: names, IDs, addresses,
    institution, station and device identifiers (plus the birth date). Their values are
    scrubbed from the free text that is kept. Derived from the table: rows removed or
    replaced (X, Z, D) that are neither descriptions, dates nor UIDs, with a text or person
    name VR."""
    from pydicom.datadict import dictionary_VR

    tags = {0x00100030, 0x00080080}  # PatientBirthDate, InstitutionName
    for row in ROWS:
        if not all(c in "0123456789ABCDEF" for c in row.tag):
            continue
        if row.action not in (Action.REMOVE, Action.EMPTY, Action.DUMMY):
            continue
        tag = int(row.tag, 16)
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            continue
        if vr in _TEXT_OR_NAME_VRS:
            tags.add(tag)
    return frozenset(tags)
