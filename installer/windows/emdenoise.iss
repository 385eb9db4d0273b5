; Inno Setup script of the Windows installer: EMDenoise-<version>-setup.exe from the PyInstaller bundle.
;
;   pyinstaller --noconfirm --distpath build\installer\dist --workpath build\installer\work installer\emdenoise.spec
;   iscc /DVersion=0.1.0 /DEdition=cpu installer\windows\emdenoise.iss
;
; (.github/workflows/installers.yml runs both on a Windows runner; it cannot be run on the Linux build
; machine.) Kept in step with installer/emdenoise.spec (GUI_NAME EMDenoise.exe, console emdenoise.exe)
; and installer/linux/package.py (menu entry, TIFF/MRC "Open with", uninstall leaves user data):
; - per-user install by default (no admin rights needed), per-machine when run as administrator;
; - Start menu entry, optional desktop icon, "Open with EMDenoise" for .tif/.tiff/.mrc/.mrcs/.map;
; - the folder of emdenoise.exe optionally on the user's PATH (the command line);
; - the uninstaller removes the program folder only: %LOCALAPPDATA%\EMDenoise (models, settings) stays.

#ifndef Version
  #define Version "0.1.0"
#endif
#ifndef Edition
  #define Edition "cpu"
#endif
#define Bundle "..\..\build\installer\dist\emdenoise"

[Setup]
AppId={{6B0E6B3A-8E0F-4C55-9C3C-3D6E5A1F0E21}
AppName=EMDenoise
AppVersion={#Version}
AppVerName=EMDenoise {#Version} ({#Edition} edition)
AppPublisher=EMDenoise developers
DefaultDirName={autopf}\EMDenoise
DefaultGroupName=EMDenoise
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\build\installer
OutputBaseFilename=EMDenoise-{#Version}-setup{#if Edition != "cpu"}-{#Edition}{#endif}
SetupIconFile=..\..\build\installer\emdenoise.ico
UninstallDisplayIcon={app}\EMDenoise.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
ChangesEnvironment=yes
LicenseFile=..\..\emdenoise_gui\resources\demo\ATTRIBUTION.md

[Tasks]
Name: desktopicon; Description: "Create a &desktop icon"; Flags: unchecked
Name: addtopath; Description: "Add the emdenoise command line to PATH"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\EMDenoise"; Filename: "{app}\EMDenoise.exe"
Name: "{group}\EMDenoise command line"; Filename: "{cmd}"; Parameters: "/k ""{app}\emdenoise.exe"" --help"; WorkingDir: "{userdocs}"
Name: "{group}\Uninstall EMDenoise"; Filename: "{uninstallexe}"
Name: "{autodesktop}\EMDenoise"; Filename: "{app}\EMDenoise.exe"; Tasks: desktopicon

[Registry]
; "Open with EMDenoise" for the stacks the app reads (the app takes several files: they go into a new project)
Root: HKA; Subkey: "Software\Classes\Applications\EMDenoise.exe\shell\open\command"; ValueType: string; ValueData: """{app}\EMDenoise.exe"" ""%1"""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\EMDenoise.exe\SupportedTypes"; ValueType: string; ValueName: ".tif"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\EMDenoise.exe\SupportedTypes"; ValueType: string; ValueName: ".tiff"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\EMDenoise.exe\SupportedTypes"; ValueType: string; ValueName: ".mrc"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\EMDenoise.exe\SupportedTypes"; ValueType: string; ValueName: ".mrcs"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\EMDenoise.exe\SupportedTypes"; ValueType: string; ValueName: ".map"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\.tif\OpenWithList\EMDenoise.exe"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.tiff\OpenWithList\EMDenoise.exe"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.mrc\OpenWithList\EMDenoise.exe"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.mrcs\OpenWithList\EMDenoise.exe"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.map\OpenWithList\EMDenoise.exe"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NotOnPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\EMDenoise.exe"; Description: "Start EMDenoise"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; only what the program itself wrote into its folder (Python caches); never %LOCALAPPDATA%\EMDenoise
Type: filesandordirs; Name: "{app}\_internal\__pycache__"

[Code]
function NotOnPath(Folder: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
    Path := '';
  Result := Pos(';' + Uppercase(Folder) + ';', ';' + Uppercase(Path) + ';') = 0;
end;
